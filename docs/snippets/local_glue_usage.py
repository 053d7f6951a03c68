import os
from airflow_glue_runs.local_glue import LocalGlue

with LocalGlue() as glue:                       # or glue = LocalGlue().start(); ...; glue.stop()
    glue.create_job("nightly", default_arguments={"--local-glue-duration": "5"})
    os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = glue.airflow_connection()
    run_id = glue.client().start_job_run(JobName="nightly")["JobRunId"]
