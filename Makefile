# One virtualenv in .venv, made and refreshed from pyproject.toml; every target reuses it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv test test-fast lint demo bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --python $(BIN)/python --quiet -e '.[test]'
	touch $(STAMP)

lint: venv
	$(BIN)/ruff check airflow_glue_runs tests example_dags scripts
	$(BIN)/ruff format --check airflow_glue_runs tests example_dags scripts
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

demo: venv
	$(BIN)/python scripts/demo.py $(DAGS)

bench: venv
	$(BIN)/python scripts/bench.py $(BENCH_ARGS)

test-fast: venv
	$(BIN)/pytest -m "not slow"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
