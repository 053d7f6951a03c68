"""Tests of the local Glue's CloudWatch Logs: scripted lines, Glue's groups and streams, big events, faults."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from support import FakeClock, aws_client

from airflow_glue_runs.local_glue import LocalGlue
from airflow_glue_runs.local_glue._logs import EVENT_BYTES

NO_RETRIES = Config(retries={"total_max_attempts": 1})


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def glue(clock: FakeClock) -> Iterator[LocalGlue]:
    with LocalGlue(clock=clock) as local_glue:
        yield local_glue


@pytest.fixture(autouse=True)
def _clean(glue: LocalGlue) -> None:
    glue.reset()


def logs_client(glue: LocalGlue) -> Any:
    return aws_client(glue, "logs", config=NO_RETRIES)


def start(glue: LocalGlue, lines: list[Any], **arguments: str) -> str:
    try:
        glue.run_count("job")
    except LookupError:
        glue.create_job("job", max_concurrent_runs=5, default_arguments={"--local-glue-duration": "10"})
    script = {"--local-glue-log-lines": json.dumps(lines), **arguments}
    run_id: str = glue.client().start_job_run(JobName="job", Arguments=script)["JobRunId"]
    return run_id


def events(glue: LocalGlue, group: str, **request: Any) -> list[dict[str, Any]]:
    pages = logs_client(glue).get_paginator("filter_log_events").paginate(logGroupName=group, **request)
    return [event for page in pages for event in page["events"]]


def test_lines_appear_when_their_time_comes_in_glue_groups_and_streams(glue: LocalGlue, clock: FakeClock) -> None:
    """Driver, executor and error lines land in /output and /error, named as Glue names them, once due."""
    run_id = start(glue, [[1, "driver", "hello"], [2, "g-1a", "from an executor"], [3, "driver/error", "oops"]])
    clock.now += 1.5
    assert [e["message"] for e in events(glue, "/aws-glue/jobs/output")] == ["hello"]
    clock.now += 5
    output = events(glue, "/aws-glue/jobs/output", logStreamNames=[run_id, f"{run_id}_g-1a"], interleaved=True)
    assert [(e["logStreamName"], e["message"]) for e in output] == [
        (run_id, "hello"),
        (f"{run_id}_g-1a", "from an executor"),
    ]
    assert [e["message"] for e in events(glue, "/aws-glue/jobs/error")] == ["oops"]
    assert output[0]["timestamp"] == int((clock.now - 6.5 + 1) * 1000)


def test_lines_after_the_final_state(glue: LocalGlue, clock: FakeClock) -> None:
    """A line scripted past the run's duration is written after the run is SUCCEEDED."""
    run_id = start(glue, [[12, "driver", "late line"]])
    clock.now += 11
    assert glue.client().get_job_run(JobName="job", RunId=run_id)["JobRun"]["JobRunState"] == "SUCCEEDED"
    assert events(glue, "/aws-glue/jobs/output") == []
    clock.now += 2
    assert [e["message"] for e in events(glue, "/aws-glue/jobs/output")] == ["late line"]


def test_big_text_is_cut_into_32k_events(glue: LocalGlue, clock: FakeClock) -> None:
    """A 70 KB print becomes 32 KiB events, so a line straddles two events."""
    text = "\n".join(f"row {i:06d} " + "x" * 50 for i in range(1200))
    start(glue, [[0, "driver", text]])
    found = events(glue, "/aws-glue/jobs/output")
    assert [len(e["message"].encode()) for e in found[:-1]] == [EVENT_BYTES, EVENT_BYTES]
    assert "".join(e["message"] for e in found) == text
    assert not found[0]["message"].endswith("\n")


def test_prefix_filter_and_custom_prefixes(glue: LocalGlue) -> None:
    """logStreamNamePrefix selects streams (moto ignores it); custom group and stream prefixes rename them."""
    run_id = start(glue, [[0, "driver", "d"], [0, "g-2", "e"]])
    other = start(glue, [[0, "driver", "x"]], **{"--custom-logGroup-prefix": "/mine", "--custom-logStream-prefix": "p"})
    assert [e["message"] for e in events(glue, "/aws-glue/jobs/output", logStreamNamePrefix=f"{run_id}_")] == ["e"]
    assert events(glue, "/aws-glue/jobs/output", logStreamNamePrefix="nothing") == []
    assert [(e["logStreamName"], e["message"]) for e in events(glue, "/mine/output")] == [("p-driver", "x")]
    assert other


def test_logs_calls_are_counted_and_faulted(glue: LocalGlue) -> None:
    """Logs calls are counted per operation and take injected faults; '*' faults only Glue calls."""
    start(glue, [[0, "driver", "d"]])
    glue.reset_counters()
    glue.inject_fault("FilterLogEvents", "AccessDeniedException", message="not authorized: logs:FilterLogEvents")
    glue.inject_fault("*", "throttle")
    with pytest.raises(ClientError) as denied:
        events(glue, "/aws-glue/jobs/output")
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert len(events(glue, "/aws-glue/jobs/output")) == 1
    assert glue.calls() == {"FilterLogEvents": 2}


def test_bad_log_script_is_invalid_input(glue: LocalGlue) -> None:
    """A malformed --local-glue-log-lines is refused at StartJobRun and at job creation."""
    glue.create_job("job")
    with pytest.raises(ClientError, match="--local-glue-log-lines must be a JSON array"):
        glue.client(config=NO_RETRIES).start_job_run(JobName="job", Arguments={"--local-glue-log-lines": "[[1]]"})
    with pytest.raises(ValueError, match="--local-glue-log-lines"):
        glue.create_job("bad", default_arguments={"--local-glue-log-lines": "{}"})
