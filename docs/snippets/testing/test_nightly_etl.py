# tests/test_nightly_etl.py; the DAG is dags/nightly_etl.py, in [core] dags_folder, with an Airflow DB migrated
from nightly_etl import dag


def test_nightly_etl(local_glue):
    local_glue.create_job("nightly", default_arguments={"--local-glue-duration": "1"})
    dag_run = dag.test()
    assert dag_run.state == "success"
    assert local_glue.calls()["StartJobRun"] == 1


def test_nightly_etl_fails_when_glue_fails(local_glue):
    local_glue.create_job("nightly", default_arguments={
        "--local-glue-final-state": "FAILED", "--local-glue-error-message": "Table not found: raw.events"})
    assert dag.test().state == "failed"
