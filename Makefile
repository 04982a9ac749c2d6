# Two entry points (see README): `make demo` and `make test`. Each creates .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Sergas needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/sergas sweep
	@echo "In a browser: $(BIN)/sergas apikeys create --name me --scope write, then $(BIN)/sergas serve and http://127.0.0.1:8080/ (docs/dashboard.md)"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

# Each benchmark prints Markdown tables; their latest figures live in docs/benchmarks.md.
BENCHMARKS := sandbox tokens tiers manager sweep service cli fleet
bench: $(STAMP)
	for b in $(BENCHMARKS); do [ ! -f benchmarks/$$b.py ] || $(BIN)/python -m benchmarks.$$b || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
