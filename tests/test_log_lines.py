"""Tests of the pure log core: line assembly, de-duplication at window edges, caps, locations, masking."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from airflow_glue_runs._internal.glue_logs.forwarding import RunLogs, secret_values
from airflow_glue_runs._internal.glue_logs.lines import EVENT_BYTES, LogPosition
from airflow_glue_runs._internal.glue_logs.locations import check_forward_logs, locate_logs
from airflow_glue_runs._internal.masking import redact
from airflow_glue_runs.exceptions import GlueJobRunParameterError

G = "/aws-glue/jobs/output"


def ev(stream: str, ts: int, message: str, event_id: str | None = None) -> dict[str, Any]:
    return {
        "logStreamName": stream,
        "timestamp": ts,
        "message": message,
        "eventId": event_id or f"{stream}-{ts}-{message[:8]}",
    }


def texts(position: LogPosition, events: list[dict[str, Any]], **caps: int) -> list[str]:
    return [line.text for line in position.take(G, events, **caps).lines]


def test_lines_ordered_per_stream_and_multi_line_events_split() -> None:
    """Events out of order come out ordered by timestamp per stream; a multi-line event gives its lines."""
    position = LogPosition(0)
    found = texts(position, [ev("r", 20, "c\n"), ev("r", 10, "a\nb"), ev("r_g-1", 5, "x")])
    assert found == ["a", "b", "c", "x"]


def test_window_edge_events_are_not_repeated() -> None:
    """A second read starting at the last timestamp (inclusive) drops the events already taken, keeps new ones."""
    position = LogPosition(0)
    first = [ev("r", 10, "one", "1"), ev("r", 20, "two", "2")]
    assert texts(position, first) == ["one", "two"]
    assert position.stream_start(f"{G}:r") == 20
    assert texts(position, [ev("r", 20, "two", "2"), ev("r", 20, "two-b", "3"), ev("r", 30, "three", "4")]) == [
        "two-b",
        "three",
    ]
    assert texts(position, [ev("r", 10, "one", "1")]) == []


def test_line_split_across_two_32k_events_is_reassembled() -> None:
    """A full-size event not ending in a newline continues in the stream's next event."""
    head = "x" * (EVENT_BYTES - 10)
    first = head + "\nsplit li"
    assert len(first.encode()) == EVENT_BYTES - 1
    position = LogPosition(0)
    assert texts(position, [ev("r", 1, first)]) == [head]
    assert texts(position, [ev("r", 2, "ne\nnext")]) == ["split line", "next"]


def test_held_line_is_drained_at_the_end_and_survives_json() -> None:
    """A cut line waits for its end; drain() forwards it; the position round-trips through JSON."""
    position = LogPosition(0)
    texts(position, [ev("r", 1, "y" * (EVENT_BYTES - 5) + "\nhalf", "7")])
    again = LogPosition.from_json(position.to_json())
    assert [line.text for line in again.drain().lines] == ["half"]
    assert texts(again, [ev("r", 1, "same event", "7"), ev("r", 1, "new event", "8")]) == ["new event"]


def test_caps_drop_lines_with_a_notice() -> None:
    """More lines than the cap are dropped, counted, and the notice says so."""
    position = LogPosition(0)
    taken = position.take(G, [ev("r", i, f"line {i}") for i in range(10)], max_lines=3)
    assert [line.text for line in taken.lines] == ["line 0", "line 1", "line 2"]
    assert taken.dropped == 7
    assert "7 Glue log line(s) dropped" in (taken.notice() or "")
    assert position.take(G, [ev("r", 9, "x" * 100)], max_bytes=10).dropped == 1


def test_advance_to_skips_older_lines() -> None:
    """After advance_to (a rebuilt trigger) lines older than the new start are not forwarded."""
    position = LogPosition(0)
    texts(position, [ev("r", 5, "a")])
    position.advance_to(100)
    assert texts(position, [ev("r", 50, "old"), ev("r", 100, "new")]) == ["new"]


def test_locations_default_custom_and_continuous() -> None:
    """Groups and streams follow LogGroupName, custom prefixes and continuous logging."""
    plain = locate_logs("jr_1", None, {})
    assert plain.driver == (("/aws-glue/jobs/output", "jr_1"), ("/aws-glue/jobs/error", "jr_1"))
    assert plain.executors == (("/aws-glue/jobs/output", "jr_1_"), ("/aws-glue/jobs/error", "jr_1_"))
    assert plain.label("/aws-glue/jobs/error", "jr_1") == "driver/error"
    assert plain.label("/aws-glue/jobs/output", "jr_1_g-9") == "g-9"
    custom = locate_logs(
        "jr_1",
        "/aws-glue/jobs-role-sec/",
        {"--custom-logStream-prefix": "p", "--enable-continuous-cloudwatch-log": "true"},
    )
    assert custom.driver[0] == ("/aws-glue/jobs-role-sec/output", "p-driver")
    assert custom.executors[-1] == ("/aws-glue/jobs/logs-v2", "jr_1")
    assert locate_logs("jr_1", "/x", {"--custom-logGroup-prefix": "/mine"}).driver[1] == ("/mine/error", "jr_1")


def test_forward_logs_values() -> None:
    """forward_logs takes False, True, 'all' and their text forms; anything else names the parameter."""
    assert [check_forward_logs(v) for v in (False, True, "all", "True", "false", " ALL ")] == [
        False,
        True,
        "all",
        True,
        False,
        "all",
    ]
    with pytest.raises(GlueJobRunParameterError, match="forward_logs"):
        check_forward_logs("executors")


def test_secret_values_are_masked_in_rendered_lines() -> None:
    """Listed and sensitive-looking argument values are masked in forwarded lines."""
    secrets = secret_values({"--db-password": "hunter2", "--token-x": "", "--user": "bob", "--k": "s3cr3t"}, ["k"])
    assert set(secrets) == {"hunter2", "s3cr3t"}
    assert redact("pw=hunter2 k=s3cr3t user=bob", secrets) == "pw=*** k=*** user=bob"
    from airflow_glue_runs.job_run import JobRun

    logs = RunLogs("job", "jr_1", True, secret_arguments=["--k"])
    started = datetime(2026, 1, 1, tzinfo=UTC)
    logs.locate(JobRun(id="jr_1", arguments={"--k": "s3cr3t"}, started_on=started), {"--api-password": "pa55word"})
    assert logs.take(G, [ev("jr_1", int(started.timestamp() * 1000), "using s3cr3t and pa55word")]) == [
        "[glue driver] using *** and ***"
    ]


def test_error_policy() -> None:
    """AccessDenied names logs:FilterLogEvents and stops; throttling backs off; each kind warns once."""
    from botocore.exceptions import ClientError

    def error(code: str) -> ClientError:
        return ClientError({"Error": {"Code": code, "Message": "m"}}, "FilterLogEvents")

    logs = RunLogs("job", "jr_1", True)
    level, message = logs.failed(error("ThrottlingException"), G, "eu-central-1") or (0, "")
    assert level == 30
    assert logs.skip == 1
    assert not logs.disabled
    assert logs.failed(error("ThrottlingException"), G, None) is None
    assert logs.skip == 2
    assert logs.failed(error("ResourceNotFoundException"), G, None) is not None
    assert not logs.disabled
    _, message = logs.failed(error("AccessDeniedException"), G, "eu-central-1") or (0, "")
    assert "logs:FilterLogEvents" in message
    assert "arn:aws:logs:eu-central-1:" in message
    assert logs.disabled


def test_own_events_keep_the_reads_kind_and_count_other_runs_streams() -> None:
    """A driver read keeps the driver's events, an executor read its executors'; other runs' events are counted."""
    location = locate_logs("jr_a", None, {})
    events = [ev("jr_a", 1, "d"), ev("jr_a_g-1", 1, "x"), ev("jr_b", 1, "other"), ev("jr_b_g-1", 1, "other x")]
    driver = location.own_events(G, events, "driver")
    assert [e["message"] for e in driver.events] == ["d"]
    assert driver.foreign == 2
    executors = location.own_events(G, events, "executor")
    assert [e["message"] for e in executors.events] == ["x"]
    assert executors.foreign == 2
    assert location.own_events("/aws-glue/jobs/other", events, "driver").foreign == 4  # not the run's group


def test_own_events_with_a_custom_stream_prefix_leave_the_driver_to_the_driver_read() -> None:
    """With --custom-logStream-prefix the executor prefix matches the driver stream too: not taken, not counted."""
    location = locate_logs("jr_a", None, {"--custom-logStream-prefix": "nightly"})
    events = [ev("nightly-driver", 1, "d"), ev("nightly-g-1", 1, "x"), ev("jr_b", 1, "other")]
    executors = location.own_events(G, events, "executor")
    assert [e["message"] for e in executors.events] == ["x"]
    assert executors.foreign == 1
