"""The Amazon provider compatibility layer behind :mod:`airflow_glue_runs.amazon`."""
