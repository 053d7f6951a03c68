"""The event rows of ``make bench``: the triggerer's SQS consumer of Glue's events against polling.

An events row (:data:`EVENTS`, :data:`EVENTS_LOST`) runs this project's trigger, unchanged, in a child whose
``[glue_runs] event_queue_url`` names a queue of its own, made by the local Glue's ``create_event_queue`` (an
EventBridge rule on the default bus that targets it), as a triggerer's environment would
(``AIRFLOW__GLUE_RUNS__EVENT_QUEUE_URL``). :data:`EVENTS` keeps the default safety net (300 s);
:data:`EVENTS_LOST` has the local Glue drop every event (``set_event_faults(drop_rate=1.0)``) and a 30 s safety net,
so the runs are seen by the safety net alone. The queue and its rule are deleted when the row ends, so the next rows'
events go nowhere.

The local Glue counts requests by operation name; :func:`calls_by_service` sorts them into Glue, CloudWatch Logs,
SQS and EventBridge calls by botocore's service models.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
from collections.abc import Iterator, Mapping
from typing import Any

EVENTS = "airflow-glue-runs+events"
"""This project's trigger with event wake-ups (default safety net)."""
EVENTS_LOST = "airflow-glue-runs+events-lost"
"""The same with every event dropped by the local Glue, and a 30 s safety net."""
EVENT_IMPLEMENTATIONS = (EVENTS, EVENTS_LOST)
LOST_SAFETY_INTERVAL = 30.0
"""The safety net of the :data:`EVENTS_LOST` row (seconds): short, to keep the row short."""
QUEUE_ENV = "AIRFLOW__GLUE_RUNS__EVENT_QUEUE_URL"
SAFETY_ENV = "AIRFLOW__GLUE_RUNS__EVENT_SAFETY_INTERVAL"
SERVICES = {"logs": "logs", "sqs": "sqs", "events": "events"}
"""The services told apart from Glue in the call counts (column key -> botocore service name)."""


@functools.cache
def _operations(service: str) -> frozenset[str]:
    import botocore.session

    return frozenset(botocore.session.get_session().get_service_model(service).operation_names)


def calls_by_service(calls: Mapping[str, int]) -> dict[str, int]:
    """Sort the local Glue's call counts by service: ``glue``, ``logs``, ``sqs``, ``events`` (and ``other``)."""
    totals = dict.fromkeys(["glue", *SERVICES, "other"], 0)
    for operation, count in calls.items():
        service = next((key for key, name in SERVICES.items() if operation in _operations(name)), None)
        if service is None:
            service = "glue" if operation in _operations("glue") else "other"
        totals[service] += count
    return totals


@contextlib.contextmanager
def event_wakeups(control: Any, impl: str, name: str) -> Iterator[str | None]:
    """Configure this process as a triggerer with events for an events row (else nothing); yield the queue URL.

    :param control: the local Glue's control client.
    :param impl: the row's implementation.
    :param name: the queue's and rule's name.
    """
    if impl not in EVENT_IMPLEMENTATIONS:
        yield None
        return
    queue_url = control.create_event_queue(name)
    os.environ[QUEUE_ENV] = queue_url
    if impl == EVENTS_LOST:
        os.environ[SAFETY_ENV] = f"{LOST_SAFETY_INTERVAL:g}"
        control.set_event_faults(drop_rate=1.0)
    try:
        yield queue_url
    finally:
        os.environ.pop(QUEUE_ENV, None)
        os.environ.pop(SAFETY_ENV, None)
        control.set_event_faults()
        sqs, events = aws_client(control, "sqs"), aws_client(control, "events")
        events.remove_targets(Rule=name, Ids=["sqs"])
        events.delete_rule(Name=name)
        sqs.delete_queue(QueueUrl=queue_url)


def aws_client(control: Any, service: str) -> Any:
    """Return a boto3 client of ``service`` on the local Glue's endpoint."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=control.endpoint_url,
        region_name=control.region_name,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def consumer_counts() -> dict[str, int]:
    """Return the event consumers' counters of the running loop (all zero without a queue)."""
    from airflow_glue_runs._internal.events.registry import event_consumers

    return dataclasses.asdict(event_consumers().totals())


def counts_since(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, int]:
    """Return ``after - before``, key by key."""
    return {key: value - before.get(key, 0) for key, value in after.items()}


def process_cpu_seconds(pid: int) -> float:
    """Return a process's CPU seconds (user + system) from ``/proc``."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def local_glue_pid() -> int | None:
    """Return the pid of this process's child that runs the local Glue (None: not found)."""
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as children:
            for pid in children.read().split():
                with contextlib.suppress(OSError), open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                    if b"airflow_glue_runs.local_glue" in cmdline.read():
                        return int(pid)
    return None
