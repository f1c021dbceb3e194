"""Fixtures shared between test modules."""
import pytest

from hwgen.cli import main


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    """`hwgen flow` on digits-bnn (5 epochs, 60 test images through Verilator): the
    end-to-end flow test checks it, and the CLI and auto-folding tests work on copies."""
    out = tmp_path_factory.mktemp("run")
    assert main(["flow", "--epochs", "5", "--test-images", "60", "--out", str(out)]) == 0
    return out
