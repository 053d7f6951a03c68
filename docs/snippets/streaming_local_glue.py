from airflow_glue_runs.local_glue import LocalGlue

with LocalGlue() as glue:
    glue.create_job(
        "clicks-stream",
        command="gluestreaming",
        default_arguments={"--local-glue-duration": "86400"},  # runs a day, or until stopped
    )
    client = glue.client()
    run_id = client.start_job_run(JobName="clicks-stream")["JobRunId"]
    glue.set_run_state("clicks-stream", run_id, "RUNNING")  # at once, not half a second later
    read = client.get_job_run(JobName="clicks-stream", RunId=run_id)
    running = read["JobRun"]["JobRunState"]  # RUNNING

    client.batch_stop_job_run(JobName="clicks-stream", JobRunIds=[run_id])
    read = client.get_job_run(JobName="clicks-stream", RunId=run_id)
    stopping = read["JobRun"]["JobRunState"]  # STOPPING, then STOPPED
