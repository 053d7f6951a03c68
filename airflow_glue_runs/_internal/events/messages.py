"""What an SQS message from Glue's EventBridge rule says: which run of which job changed, or nothing usable.

A body is an EventBridge event (the rule targets the queue, or SNS delivers it raw) or an SNS notification envelope
(``{"Type": "Notification", "Message": "<event JSON>"}``, SNS to SQS without raw delivery). Only ``aws.glue`` job
run events naming a job and a run are kept: "Glue Job State Change" (SUCCEEDED, FAILED, TIMEOUT, STOPPED) and
"Glue Job Run Status" (a run past its delay notification threshold). Anything else is sorted, never raised: a
message is a hint at most. The event's ``detail.message`` can quote a failure's text, and with it job arguments:
nothing here keeps or logs it.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Any

__all__ = ["JOB_RUN_DETAIL_TYPES", "MAX_BODY_CHARS", "ParsedBody", "Verdict", "parse_body"]

JOB_RUN_DETAIL_TYPES = frozenset({"Glue Job State Change", "Glue Job Run Status"})
"""The EventBridge detail-types of Glue job run events."""

MAX_BODY_CHARS = 256 * 1024
"""Longer bodies are not parsed (a Glue event is about 1 KiB; SQS's classic limit is 256 KiB)."""

_MAX_NAME_CHARS = 255  # Glue's limit for a job name and a run id


class Verdict(enum.Enum):
    """How a message was sorted."""

    RUN = "run"
    """A Glue job run event naming its job and run."""
    FOREIGN = "foreign"
    """An EventBridge event of another source or kind (a rule broader than Glue's job run events)."""
    MALFORMED = "malformed"
    """No EventBridge event: not JSON, oversize, another application's message, a job event without job or run."""


@dataclasses.dataclass(frozen=True)
class ParsedBody:
    """A sorted message body: the verdict, and the job and run it names (for :attr:`Verdict.RUN` only)."""

    verdict: Verdict
    job_name: str = ""
    run_id: str = ""


_MALFORMED = ParsedBody(Verdict.MALFORMED)
_FOREIGN = ParsedBody(Verdict.FOREIGN)


def parse_body(body: object) -> ParsedBody:
    """Sort one SQS message body (see the module docstring); never raises."""
    event = _json_object(body)
    if event is None:
        return _MALFORMED
    if event.get("Type") == "Notification" and "Message" in event and "detail-type" not in event:
        event = _json_object(event["Message"])  # an SNS envelope around the event
        if event is None:
            return _MALFORMED
    if not (isinstance(event.get("source"), str) and isinstance(event.get("detail-type"), str)):
        return _MALFORMED
    if event["source"] != "aws.glue" or event["detail-type"] not in JOB_RUN_DETAIL_TYPES:
        return _FOREIGN
    detail = event.get("detail")
    if not isinstance(detail, dict):
        return _MALFORMED
    job_name, run_id = detail.get("jobName"), detail.get("jobRunId")
    if not (isinstance(job_name, str) and isinstance(run_id, str) and _is_name(job_name) and _is_name(run_id)):
        return _MALFORMED
    return ParsedBody(Verdict.RUN, job_name, run_id)


def _json_object(text: object) -> dict[str, Any] | None:
    if not isinstance(text, str) or len(text) > MAX_BODY_CHARS:
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # bad JSON; JSON nested too deep
        return None
    return value if isinstance(value, dict) else None


def _is_name(value: str) -> bool:
    return 0 < len(value) <= _MAX_NAME_CHARS
