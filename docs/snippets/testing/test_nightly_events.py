# tests/test_nightly_events.py; the DAG is dags/nightly_events.py (a deferrable GlueJobRunOperator)
from nightly_events import dag


def test_events_are_hints(local_glue, monkeypatch):
    queue_url = local_glue.create_event_queue()
    # dag.test() runs the trigger in this process: it reads [glue_runs] options from the environment
    monkeypatch.setenv("AIRFLOW__GLUE_RUNS__EVENT_QUEUE_URL", queue_url)
    monkeypatch.setenv("AIRFLOW__GLUE_RUNS__EVENT_SAFETY_INTERVAL", "2")  # the safety net polls every 2 s, not 300
    local_glue.create_job("nightly", default_arguments={"--local-glue-duration": "2"})
    local_glue.set_event_faults(drop_rate=1.0, job_name="nightly")  # every end of "nightly" is lost

    assert dag.test().state == "success"  # still finishes: the safety net's poll reads the end
    assert local_glue.event_counts()["dropped"] == 1
    assert local_glue.calls()["ReceiveMessage"] >= 1  # the triggerer did consume the queue
