# Two commands on a fresh machine: `make demo` and `make test`.
# The venv is created if missing; torch is installed first, pinned by TORCH_SPEC, so that pip
# never pulls a multi-GB CUDA build where only the CPU one is wanted. Override it, e.g.
#   make demo TORCH_SPEC=torch TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.13.0
TORCH_PIP_ARGS ?=

.PHONY: install dev demo test lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

install: $(PY)
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install $(TORCH_PIP_ARGS) "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e .

dev: $(PY)
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install $(TORCH_PIP_ARGS) "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[dev]"

demo: install
	$(VENV)/bin/rnnkit demo --overwrite

test: dev
	$(PY) -m pytest -q

lint: dev
	$(VENV)/bin/ruff check rnnkit tests benchmarks
	$(VENV)/bin/ruff format --check rnnkit tests benchmarks
	$(VENV)/bin/mypy rnnkit
	$(VENV)/bin/lint-imports

bench: install
	$(PY) benchmarks/run_all.py

clean:
	rm -rf runs .pytest_cache .mypy_cache .ruff_cache
