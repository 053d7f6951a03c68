"""What an SQS message from Glue's event rule says, and the triggerer's event settings: pure functions, no AWS."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_glue_runs._internal.events import settings
from airflow_glue_runs._internal.events.messages import MAX_BODY_CHARS, Verdict, parse_body
from airflow_glue_runs._internal.events.settings import DEFAULT_SAFETY_INTERVAL, EventSettings, read_event_settings

SECRET = "hunter2-in-a-failure-message"


def glue_event(
    job: str = "nightly", run: str = "jr_0123", detail_type: str = "Glue Job State Change", **changes: Any
) -> dict[str, Any]:
    """An EventBridge event as Glue sends it (shape from real captures), with ``changes`` applied."""
    event: dict[str, Any] = {
        "version": "0",
        "id": "6f1f7f1c-0000-0000-0000-000000000000",
        "detail-type": detail_type,
        "source": "aws.glue",
        "account": "123456789012",
        "time": "2026-12-01T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "jobName": job,
            "severity": "ERROR",
            "state": "FAILED",
            "jobRunId": run,
            "message": f"Command failed: --password {SECRET}",
        },
    }
    event.update(changes)
    return event


def test_a_raw_glue_state_change_names_its_job_and_run() -> None:
    """A raw "Glue Job State Change" event (rule -> queue, or SNS with raw delivery) gives its job and run."""
    parsed = parse_body(json.dumps(glue_event()))
    assert (parsed.verdict, parsed.job_name, parsed.run_id) == (Verdict.RUN, "nightly", "jr_0123")
    assert SECRET not in repr(parsed)  # the event's message is not kept


def test_an_sns_envelope_is_opened() -> None:
    """SNS to SQS without raw delivery wraps the event in a Notification envelope: the event inside counts."""
    envelope = {"Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:t", "Message": json.dumps(glue_event())}
    parsed = parse_body(json.dumps(envelope))
    assert (parsed.verdict, parsed.job_name, parsed.run_id) == (Verdict.RUN, "nightly", "jr_0123")


def test_a_glue_run_status_event_counts_too() -> None:
    """ "Glue Job Run Status" (a run past its delay threshold) names a run as well."""
    parsed = parse_body(json.dumps(glue_event(detail_type="Glue Job Run Status")))
    assert parsed.verdict is Verdict.RUN


@pytest.mark.parametrize(
    "event",
    [
        glue_event(source="aws.s3"),
        glue_event(detail_type="Glue Crawler State Change"),
        glue_event(detail_type="Glue Data Catalog Table State Change"),
    ],
    ids=["other-source", "crawler", "catalog"],
)
def test_events_of_other_sources_or_kinds_are_foreign(event: dict[str, Any]) -> None:
    """Well-formed events that are not Glue job run events are foreign: ignored, not a fault."""
    assert parse_body(json.dumps(event)).verdict is Verdict.FOREIGN


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "",
        None,
        b"{}",
        "[1, 2]",
        json.dumps({"hello": "world"}),
        json.dumps({"Type": "Notification", "Message": "not json"}),
        json.dumps({"Type": "SubscriptionConfirmation", "Token": "t"}),
        json.dumps(glue_event(detail={"jobName": "nightly"})),
        json.dumps(glue_event(detail={"jobName": "nightly", "jobRunId": 7})),
        json.dumps(glue_event(detail={"jobName": "", "jobRunId": "jr_1"})),
        json.dumps(glue_event(detail="jr_1")),
        json.dumps(glue_event(run="jr_" + "x" * 300)),
        json.dumps(glue_event(padding="x" * MAX_BODY_CHARS)),
        "[" * 100_000 + "]" * 100_000,
    ],
    ids=[
        *("text", "empty", "none", "bytes", "array", "other-app", "bad-envelope", "sns-confirmation"),
        *("no-run", "run-not-text", "empty-job", "detail-not-object", "run-too-long", "oversize", "deep"),
    ],
)
def test_anything_else_is_malformed_and_never_raises(body: object) -> None:
    """Garbage, other applications' messages, oversize bodies and job events without job or run are malformed."""
    assert parse_body(body).verdict is Verdict.MALFORMED


# -- settings ---------------------------------------------------------------------------------------------------

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/airflow-glue-events-1"


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Set the [glue_runs] options through Airflow's environment variables; each test starts unreported."""
    monkeypatch.setattr(settings, "_reported", set())
    monkeypatch.delenv("AIRFLOW__GLUE_RUNS__EVENT_QUEUE_URL", raising=False)
    monkeypatch.delenv("AIRFLOW__GLUE_RUNS__EVENT_SAFETY_INTERVAL", raising=False)

    def set_options(queue_url: str | None = None, safety_interval: str | None = None) -> None:
        if queue_url is not None:
            monkeypatch.setenv("AIRFLOW__GLUE_RUNS__EVENT_QUEUE_URL", queue_url)
        if safety_interval is not None:
            monkeypatch.setenv("AIRFLOW__GLUE_RUNS__EVENT_SAFETY_INTERVAL", safety_interval)

    return set_options


def test_unset_queue_means_no_events(configure: Any) -> None:
    """Without event_queue_url the settings say: no events (and the default safety interval)."""
    configure()
    assert read_event_settings() == EventSettings(queue_url=None, safety_interval=DEFAULT_SAFETY_INTERVAL)


def test_the_options_are_read_from_airflow_configuration(configure: Any) -> None:
    """The queue URL and the safety interval come from [glue_runs] (here its environment variables)."""
    configure(QUEUE_URL, "120")
    assert read_event_settings() == EventSettings(queue_url=QUEUE_URL, safety_interval=120.0)
    configure("http://127.0.0.1:5000/123456789012/local-queue", None)
    assert read_event_settings().queue_url == "http://127.0.0.1:5000/123456789012/local-queue"


@pytest.mark.parametrize(
    ("queue_url", "interval", "option"),
    [
        ("airflow-glue-events", None, "event_queue_url"),
        ("arn:aws:sqs:us-east-1:123456789012:airflow-glue-events", None, "event_queue_url"),
        ("https://sqs.us-east-1.amazonaws.com/airflow-glue-events", None, "event_queue_url"),
        (QUEUE_URL, "soon", "event_safety_interval"),
        (QUEUE_URL, "0", "event_safety_interval"),
        (QUEUE_URL, "-5", "event_safety_interval"),
        (QUEUE_URL, "inf", "event_safety_interval"),
    ],
)
def test_a_bad_value_is_logged_once_by_option_and_turns_events_off(
    configure: Any, logs: list[dict[str, Any]], queue_url: str, interval: str | None, option: str
) -> None:
    """A bad option value is logged once, naming the option, and the triggerer polls without events."""
    from airflow_versions import log_messages

    configure(queue_url, interval)
    assert read_event_settings() == EventSettings()
    assert read_event_settings() == EventSettings()
    errors = log_messages(logs, "error")
    assert len(errors) == 1
    assert f"[glue_runs] {option}" in errors[0]
    assert "polled at their poll_interval" in errors[0]
