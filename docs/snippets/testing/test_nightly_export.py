from pathlib import Path

from nightly_export import dag


def test_nightly_export(local_glue):
    uri = local_glue.upload_script("my-scripts", "jobs/export.py", Path("glue/export.py"))  # or the script's text
    local_glue.create_job("export", command="pythonshell", script_location=uri,
                          default_arguments={"--target": "s3://my-exports/daily/"})
    assert dag.test().state == "success"          # the DAG's GlueJobRunOperator(job_name="export", ...)
