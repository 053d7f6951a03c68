"""Glue job definitions from the DAG: the spec, the diff, the reconcile step."""
