"""Seeded random model files through train → export → verilog → sim → report: a handful here,
100 in ``bench/random_model_files.py``."""
import pytest

from .model_files import check_report, random_model_file, run_model_file

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("seed", range(4))
def test_random_model_file(tmp_path, seed):
    check_report(run_model_file(seed, tmp_path))


def test_the_files_cover_the_kinds():
    texts = [random_model_file(seed) for seed in range(100)]
    for kind in ('"binary"', '"shift-ps"', '"shift-q"', "conv =", "pool = 2", "stride = 2", "padding = 1",
                 'set = "digits"', 'set = "vertebral"', '"relu-fixed"', '"sign"', '"reste"', '"approx-sign"',
                 '"swish-sign"', 'binarize = "stochastic"'):
        assert any(kind in text for text in texts), kind
