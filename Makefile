# One virtualenv in .venv, made and refreshed from pyproject.toml and the newest pinned set; every target reuses it.
# `make test-matrix` builds one more venv per Airflow minor under .matrix/ (see scripts/test-matrix.sh).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

CONSTRAINTS := constraints/airflow-3.3.txt

DOCS_STAMP := $(VENV)/.docs-installed

.PHONY: venv test test-fast test-matrix constraints lint demo bench docs clean

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

# The docs site: the `docs` extra (exact pins) into the same .venv, then a strict build into site/. Mermaid is served
# from the site itself (scripts/docs_hooks.py fetches a pinned, hash-checked copy from the npm registry once).
$(DOCS_STAMP): $(STAMP) pyproject.toml $(CONSTRAINTS)
	$(BIN)/uv pip install --python $(BIN)/python --quiet -e '.[test,docs]' -c $(CONSTRAINTS)
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --clean --site-dir site

test-fast: venv
	$(BIN)/pytest -m "not slow"

clean:
	rm -rf $(VENV) .matrix .pytest_cache .mypy_cache .ruff_cache site .docs-cache
