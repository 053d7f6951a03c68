"""Glue's own CloudWatch lines in the Airflow task log: where they are, reading them, forwarding each once."""
