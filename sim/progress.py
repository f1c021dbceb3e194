"""A progress bar for a running simulation, fed by the harness's lines in the simulator log."""
import re
import threading
from contextlib import contextmanager
from pathlib import Path

from .harness import PROGRESS_LINE

PATTERN = re.compile(re.escape(PROGRESS_LINE) + r" (\d+) images out")
POLL_SECONDS = 0.5


class ImageCounter:
    """Images out so far, over all passes, from the harness's progress lines.

    A pass's lines count from its own start and the last one is for its last
    image, so a count lower than the one before starts a new pass.
    """

    def __init__(self):
        self._done_before = 0
        self._last = 0

    def feed(self, line: str) -> int:
        match = PATTERN.search(line)
        if match:
            count = int(match[1])
            if count < self._last:
                self._done_before += self._last
            self._last = count
        return self.images

    @property
    def images(self) -> int:
        return self._done_before + self._last


def _complete_lines(log: Path, position: int) -> tuple[list[str], int]:
    """The whole lines written to ``log`` since ``position``, and where they end."""
    if not log.is_file():
        return [], position
    with open(log, "rb") as f:
        f.seek(position)
        text = f.read()
    end = text.rfind(b"\n") + 1   # a line still being written waits for the next poll
    return text[:end].decode(errors="replace").splitlines(), position + end


@contextmanager
def progress_bar(log: Path, total: int, enabled: bool = True):
    """Shows a bar of ``total`` images while the body runs the simulator writing ``log``."""
    if not enabled:
        yield
        return
    from tqdm import tqdm

    stop = threading.Event()

    def follow(bar):
        counter, position = ImageCounter(), 0
        while True:
            stopping = stop.wait(POLL_SECONDS)
            lines, position = _complete_lines(log, position)
            for line in lines:
                counter.feed(line)
            bar.update(counter.images - bar.n)
            if stopping:
                return

    with tqdm(total=total, desc="simulate", unit="image") as bar:
        thread = threading.Thread(target=follow, args=(bar,), daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
