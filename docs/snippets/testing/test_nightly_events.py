# tests/test_nightly_events.py; the DAG is dags/nightly_events.py
from nightly_events import dag


def test_events_are_hints(local_glue, monkeypatch):
    queue_url = local_glue.create_event_queue()
    # dag.test() runs the trigger in this process: it reads the [glue_runs] options here
    monkeypatch.setenv("AIRFLOW__GLUE_RUNS__EVENT_QUEUE_URL", queue_url)
    # the safety net then reads the run every 2 s, not every 300 s
    monkeypatch.setenv("AIRFLOW__GLUE_RUNS__EVENT_SAFETY_INTERVAL", "2")
    local_glue.create_job("nightly", default_arguments={"--local-glue-duration": "2"})
    # every end of "nightly" is lost
    local_glue.set_event_faults(drop_rate=1.0, job_name="nightly")

    assert dag.test().state == "success"  # still finishes: the safety net reads the end
    assert local_glue.event_counts()["dropped"] == 1
    assert local_glue.calls()["ReceiveMessage"] >= 1  # the triggerer consumed the queue
