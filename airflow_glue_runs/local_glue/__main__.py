"""``python -m airflow_glue_runs.local_glue``: run a local Glue in the foreground."""

from airflow_glue_runs.local_glue import main

raise SystemExit(main())
