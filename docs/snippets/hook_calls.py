from airflow_glue_runs.hooks import GlueJobRunHook

hook = GlueJobRunHook(aws_conn_id="aws_default", region_name="eu-west-1")
run_id = hook.start_job_run(
    "nightly-etl",
    {"--day": "2026-01-01", "--full-refresh": True},  # True is sent as "true"
    worker_type="G.2X",
    number_of_workers=10,
    timeout=120,                   # minutes
    job_run_queuing_enabled=True,  # queue (WAITING) instead of ConcurrentRunsExceeded
)
run = hook.get_job_run("nightly-etl", run_id)           # a JobRun
print(run.state, run.state.category, run.execution_time)
for past in hook.iter_job_runs("nightly-etl", page_size=200, max_items=1000):
    ...
result = hook.stop_job_runs("nightly-etl", [run_id])     # StopJobRunsResult(stopped=..., errors=...)
