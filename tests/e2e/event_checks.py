"""What the event wake-up tests read: when a trigger fired, how long after its run's end, and a queue's heartbeats.

A trigger's "Trigger fired event" line (Airflow's own, once per event) carries the time the triggerer logged it:
the first timestamp of the line, in a trigger log file (JSON) or in the triggerer's own log (text). Glue's
``CompletedOn`` is the local Glue's clock, the same machine's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_stack import AirflowStack
from scenarios import glue_run

from airflow_glue_runs._internal.events.consumer import HEARTBEAT_TAG_PREFIX

if TYPE_CHECKING:
    from airflow_glue_runs.local_glue import LocalGlue

FIRED = "Trigger fired event"
SHARED_QUEUE_WARNING = "is consumed by another triggerer too"  # the consumer's warning, once per consumer
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")


def events_env(queue_url: str, safety_interval: float) -> dict[str, str]:
    """Return one triggerer's event settings as environment variables."""
    return {
        "AIRFLOW__GLUE_RUNS__EVENT_QUEUE_URL": queue_url,
        "AIRFLOW__GLUE_RUNS__EVENT_SAFETY_INTERVAL": str(safety_interval),
    }


def fired_at(lines: Iterable[str]) -> list[datetime]:
    """Return when each "Trigger fired event" line among a trigger's log lines was logged."""
    times = []
    for line in lines:
        if FIRED in line:
            match = _TIMESTAMP.search(line)
            assert match is not None, line
            times.append(datetime.fromisoformat(match.group()))
    return times


def end_seen_after(
    stack: AirflowStack, glue: LocalGlue, *, dag_id: str, run_id: str, map_index: int, job: str, glue_run_id: str
) -> float:
    """Return the seconds from a Glue run's ``CompletedOn`` to the one event of its ``process_partition`` trigger."""
    lines = stack.trigger_log_lines(dag_id, run_id, "process_partition", try_number=1, map_index=map_index)
    (fired,) = fired_at(lines)
    completed: datetime = glue_run(glue, job, glue_run_id)["CompletedOn"]
    return (fired - completed).total_seconds()


def heartbeat_tags(glue: LocalGlue, queue_url: str) -> dict[str, str]:
    """Return the consumers' heartbeat tags on a queue (``airflow-glue-runs-consumer-<host>:<pid>`` = epoch)."""
    tags: dict[str, Any] = _sqs(glue).list_queue_tags(QueueUrl=queue_url).get("Tags") or {}
    return {name: str(value) for name, value in tags.items() if name.startswith(HEARTBEAT_TAG_PREFIX)}


def _sqs(glue: LocalGlue) -> Any:
    import boto3

    return boto3.client(
        "sqs",
        endpoint_url=glue.endpoint_url,
        region_name=glue.region_name,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
