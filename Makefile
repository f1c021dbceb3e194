# Two commands do all the set-up: `make demo` and `make test`.
# The venv is built once; the stamp file makes later runs skip the install.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.hwgen-installed

.PHONY: demo test bench-mnist clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# The CPU wheel of torch first: a bare `torch` requirement would pull a CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	# Icarus is the second simulator; its tests skip with a reason where it cannot be installed.
	command -v iverilog >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	  apt-get update -qq && apt-get install -y -qq iverilog >/dev/null; } || \
	  echo "note: iverilog not installed; the Icarus tests will say they were skipped"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/hwgen flow

# One pytest worker per core: the suite is CPU-bound (training, Verilator builds).
test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto

MNIST_MODELS ?= mnist-mlp-bnn mnist-fc-shift-ps mnist-fc-shift-q

bench-mnist: $(STAMP)
	for model in $(MNIST_MODELS); do $(BIN)/python bench/mnist_flow.py --model $$model || exit 1; done

clean:
	rm -rf $(VENV) runs
