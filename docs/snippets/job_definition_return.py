RETURN_VALUE = (
    # --8<-- [start:value]
    {"job_name": "nightly-etl", "action": "updated",          # "created", "updated" or "unchanged"
     "dry_run": False,
     "changes": [{"field": "number_of_workers", "old": 2, "new": 5}],
     "script_location": "s3://my-glue-scripts/airflow-glue-runs/scripts/nightly-etl/3f1c.../etl.py",
     "active_runs": []}                                       # runs active when the job was updated
    # --8<-- [end:value]
)
