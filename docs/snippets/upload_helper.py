import boto3

import airflow_glue_runs.glue_job_result as helper

# The helper is one file: upload it next to your Glue scripts, then list it in the job's --extra-py-files
# (job parameter: --extra-py-files = s3://my-bucket/glue-libs/glue_job_result.py, comma-separated with others).
boto3.client("s3").upload_file(helper.__file__, "my-bucket", "glue-libs/glue_job_result.py")
