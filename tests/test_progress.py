"""The simulation progress bar's reading of the harness's progress lines."""
from hwgen.sim.harness import PROGRESS_LINE, progress_every
from hwgen.sim.progress import ImageCounter, _complete_lines


def _line(images: int) -> str:
    return f"{PROGRESS_LINE} {images} images out at cycle {images * 7}"


def test_counter_adds_up_passes():
    counter = ImageCounter()
    lines = [_line(100), "     0.00ns INFO cocotb other output", _line(200), _line(250),   # pass 0: 250 images
             _line(50), _line(100)]                                                      # pass 1: 100 images
    seen = [counter.feed(line) for line in lines]
    assert seen == [100, 100, 200, 250, 300, 350]


def test_only_whole_lines_are_read(tmp_path):
    log = tmp_path / "sim.log"
    log.write_text(_line(100) + "\n" + _line(200)[:20])
    lines, position = _complete_lines(log, 0)
    assert lines == [_line(100)]
    with open(log, "a") as f:
        f.write(_line(200)[20:] + "\n")
    lines, position = _complete_lines(log, position)
    assert lines == [_line(200)] and position == log.stat().st_size
    assert _complete_lines(tmp_path / "not-yet.log", 0) == ([], 0)


def test_harness_reports_about_a_hundred_times_a_pass():
    assert progress_every(10_000) == 100
    assert progress_every(40) == 1
