# Thermal Scout — the two commands: `make run` and `make test`. Both set everything up first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-stamp
# The benchmark tests run the transformers backend on the CPU. Pin torch: here the pinned
# version is the local CPU wheel; an unpinned torch pulls the multi-GB CUDA build.
TORCH  ?= torch==2.13.0
ARGS   ?=

.PHONY: run test lint typecheck bench screenshots clean help

help:
	@echo "make run          set up .venv and open the TUI (ARGS='--replay FILE' etc.)"
	@echo "make test         set up .venv, lint, type-check and run the test suite"
	@echo "make lint         ruff + mypy"
	@echo "make bench        start-up, idle CPU, sampler cost and memory vs peers -> BENCHMARKS.md"
	@echo "make screenshots  regenerate screenshots/*.svg"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "error: Thermal Scout needs Python 3.10 or newer; found " + sys.version.split()[0] + " (set PYTHON=python3.X)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The `bench` and `onnx` extras, for the tests only (`make run` never needs torch).
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet '$(TORCH)' 'transformers>=5.0,<6' 'onnxruntime>=1.17' 'onnx>=1.15'
	@touch $(BENCH_STAMP)

run: $(STAMP)
	$(BIN)/thermal-scout $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint $(BENCH_STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

screenshots: $(STAMP)
	$(BIN)/python scripts/export_screenshots.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
