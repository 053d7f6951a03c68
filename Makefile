# One virtualenv in .venv, made and refreshed from pyproject.toml and the newest pinned set; every target reuses it.
# `make test-matrix` builds one more venv per Airflow minor under .matrix/ (see scripts/test-matrix.sh).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

CONSTRAINTS := constraints/airflow-3.3.txt

.PHONY: venv test test-fast test-matrix constraints lint demo bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --python $(BIN)/python --quiet -e '.[test]' -c $(CONSTRAINTS)
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

test-matrix: venv
	ROWS="$(ROWS)" scripts/test-matrix.sh

constraints: venv
	scripts/constraints.sh

test-fast: venv
	$(BIN)/pytest -m "not slow"

clean:
	rm -rf $(VENV) .matrix .pytest_cache .mypy_cache .ruff_cache
