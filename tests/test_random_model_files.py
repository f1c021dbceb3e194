"""Seeded random model files through train → export → verilog → sim → report: a handful here,
100 in ``bench/random_model_files.py``."""
import pytest

from .model_files import check_report, random_model_file, run_model_file

pytestmark = pytest.mark.slow


# 1062: convs of kernel 1 and 2 with padding 1, whose top rows of windows hold
# padding alone (the analytic latency once waited for the image's last row there).
@pytest.mark.parametrize("seed", [0, 3, 1062, 44])   # 44: a CNN of mixed kinds, n-bit activations
def test_random_model_file(tmp_path, seed):
    check_report(run_model_file(seed, tmp_path))


def test_the_files_cover_the_kinds():
    texts = [random_model_file(seed) for seed in range(100)]
    for kind in ('"binary"', '"shift-ps"', '"shift-q"', "conv =", "pool = 2", "stride = 2", "padding = 1",
                 'set = "digits"', 'set = "vertebral"', '"relu-fixed"', '"sign"', '"reste"', '"approx-sign"',
                 '"swish-sign"', 'binarize = "stochastic"', '"ternary"', '"int2"', '"int16"', 'activation = "int3"',
                 "relu = true", "stochastic = true"):
        assert any(kind in text for text in texts), kind
