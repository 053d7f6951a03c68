make demo   # set up .venv, start the local Glue, run an example DAG through real Airflow, print a report
make test   # set up .venv, then ruff (lint + format check), mypy (strict) and the whole test suite
