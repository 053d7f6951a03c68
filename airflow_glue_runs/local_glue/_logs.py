"""The local Glue's CloudWatch Logs: scripted runs write their lines into moto's logs backend, as Glue does.

A run's ``--local-glue-log-lines`` argument (job default or run argument) scripts what it prints: a JSON array
of ``[seconds, stream, text]`` items.

- ``seconds``: when the text is written, counted from StartJobRun; it may lie past the run's end (Glue ingests
  lines after the run's final state).
- ``stream``: ``"driver"`` or an executor name such as ``"g-1a2b"``, optionally followed by ``"/error"`` to write
  into the error group instead of the output group.
- ``text``: what was printed at that moment, lines separated by ``\\n``. It becomes one event, or, beyond
  :data:`EVENT_BYTES`, several events of exactly that many bytes (UTF-8), so a line may be split across two
  events as Glue splits them.

Groups are ``{LogGroupName}/output`` and ``{LogGroupName}/error`` (``--custom-logGroup-prefix`` replaces
LogGroupName); the driver stream is the run id and executor streams are ``{run_id}_{executor}``
(``--custom-logStream-prefix P`` gives ``P-driver`` and ``P-{executor}``). Continuous logging of Glue 4.0
(``logs-v2``) is not played.

Events are written lazily: before each CloudWatch Logs request reaches moto, every scripted text whose time
has come (by the local Glue's clock) is put into moto's backend, with the scripted time as its timestamp.
The writes bypass moto's PutLogEvents checks (events older than 14 days or 2 hours ahead are refused there),
so tests may use any clock.

moto 5.2.5 ignores FilterLogEvents' ``logStreamNamePrefix`` (it returns every stream): the local Glue turns a
prefix into the ``logStreamNames`` it matches before moto answers.
"""

from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Mapping
from functools import cache
from typing import Any

__all__ = ["EVENT_BYTES", "LOGS_TARGET_PREFIX", "LOG_LINES_ARGUMENT", "LogScript", "logs_operations"]

LOG_LINES_ARGUMENT = "--local-glue-log-lines"
EVENT_BYTES = 32_768
"""The size of the events Glue cuts long output into."""
LOGS_TARGET_PREFIX = "Logs_20140328."
"""The ``X-Amz-Target`` prefix of CloudWatch Logs requests."""
DEFAULT_LOG_GROUP = "/aws-glue/jobs"


@cache
def logs_operations() -> tuple[str, ...]:
    """Return CloudWatch Logs' operation names (for fault injection)."""
    import botocore.session

    return tuple(sorted(botocore.session.get_session().get_service_model("logs").operation_names))


@dataclasses.dataclass(frozen=True)
class _Write:
    at: float
    group: str
    stream: str
    messages: tuple[str, ...]


def _split(text: str) -> tuple[str, ...]:
    """Cut ``text`` into events of at most :data:`EVENT_BYTES` bytes, never inside a UTF-8 character."""
    data = text.encode()
    if len(data) <= EVENT_BYTES:
        return (text,)
    events, start = [], 0
    while start < len(data):
        end = min(start + EVENT_BYTES, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # a continuation byte: back off to the char start
            end -= 1
        events.append(data[start:end].decode())
        start = end
    return tuple(events)


def parse_log_lines(value: str) -> list[tuple[float, str, str]]:
    """Parse and check a ``--local-glue-log-lines`` value; raise ValueError naming the argument.

    :param value: the argument's JSON text.
    """
    try:
        items = json.loads(value)
    except ValueError:
        items = None
    problem = f"{LOG_LINES_ARGUMENT} must be a JSON array of [seconds, stream, text] items"
    if not isinstance(items, list):
        raise ValueError(f"{problem}; got {value[:80]!r}")
    parsed = []
    for item in items:
        ok = isinstance(item, list) and len(item) == 3
        if ok:
            seconds, stream, text = item
            ok = isinstance(seconds, int | float) and seconds >= 0 and isinstance(text, str)
            ok = ok and isinstance(stream, str) and bool(stream.removesuffix("/error"))
        if not ok:
            raise ValueError(f"{problem}; got the item {item!r}")
        parsed.append((float(seconds), stream, text))
    return parsed


class LogScript:
    """What one run prints and when, and how much of it was already written to moto.

    :param run_id: the run id.
    :param created: when the run was started (epoch seconds).
    :param arguments: the run's merged arguments.
    :param log_group_name: the run's LogGroupName.
    """

    def __init__(self, run_id: str, created: float, arguments: Mapping[str, str], log_group_name: str) -> None:
        group = arguments.get("--custom-logGroup-prefix") or log_group_name
        prefix = arguments.get("--custom-logStream-prefix")
        writes = []
        for seconds, stream, text in parse_log_lines(arguments.get(LOG_LINES_ARGUMENT, "[]")):
            name = stream.removesuffix("/error")
            kind = "error" if stream.endswith("/error") else "output"
            stream_name = f"{prefix}-{name}" if prefix else run_id if name == "driver" else f"{run_id}_{name}"
            writes.append(_Write(created + seconds, f"{group}/{kind}", stream_name, _split(text)))
        self.writes = sorted(writes, key=lambda write: write.at)  # stable: same-time items keep their order
        self.groups = (f"{group}/output", f"{group}/error")
        self.written = 0
        self.groups_made = False

    def due(self) -> bool:
        """Whether :meth:`write_due` has anything to do (lines not written yet, or the groups not made)."""
        return self.written < len(self.writes) or not self.groups_made

    def write_due(self, logs_backend: Any, now: float) -> None:
        """Put every scripted text due by ``now`` into moto's logs backend (groups and streams made as needed)."""
        for name in set(self.groups) - logs_backend.groups.keys():
            # Glue's groups exist before a run writes; its streams appear with their first line.
            logs_backend.create_log_group(name, {})
        self.groups_made = True
        while self.written < len(self.writes) and self.writes[self.written].at <= now:
            write = self.writes[self.written]
            group = logs_backend.groups[write.group]
            if write.stream not in group.streams:
                group.create_log_stream(write.stream)
            timestamp = int(write.at * 1000)
            group.streams[write.stream].put_log_events(
                [{"timestamp": timestamp, "message": message} for message in write.messages]
            )
            self.written += 1


def _logs_backends() -> Any:
    from moto.logs.models import logs_backends

    return logs_backends


def write_due_logs(glue_backends: Any, account: str, now: float) -> None:
    """Write the due lines of every run of ``account`` (scripted lines, or what a real run printed), in every region.

    :param glue_backends: moto's Glue backends.
    :param account: the moto account.
    :param now: the local Glue's clock.
    """
    for region, backend in glue_backends[account].items():
        logs_backend = None
        for job in backend.jobs.values():
            for run in job.job_runs:
                script = getattr(run, "log_script", None)
                if script is not None and script.due():
                    logs_backend = logs_backend or _logs_backends()[account][region]
                    script.write_due(logs_backend, now)


def reset_logs(account: str) -> None:
    """Forget every log group of ``account``."""
    _logs_backends()[account].reset()


STRICT_STREAM_NAMES = False
"""Answer FilterLogEvents naming a stream that does not exist with ResourceNotFoundException, as AWS is reported
to (moto skips such names). In-process switch for tests."""


def shape_filter_request(
    operation: str, region: str, account: str, environ: dict[str, Any]
) -> tuple[int, dict[str, Any]] | None:
    """Play FilterLogEvents' ``logStreamNamePrefix`` (moto ignores it); return (status, answer) to send instead.

    Rewrites the request body in ``environ`` to name the matching streams; answers itself when none match,
    because moto reads an empty ``logStreamNames`` as "every stream", and, with :data:`STRICT_STREAM_NAMES`, when a
    named stream does not exist.
    """
    if operation != "FilterLogEvents":
        return None
    body = environ["wsgi.input"].read()
    environ["wsgi.input"] = io.BytesIO(body)
    request = json.loads(body or b"{}")
    group = _logs_backends()[account][region].groups.get(request.get("logGroupName"))
    names = request.get("logStreamNames") or []
    if STRICT_STREAM_NAMES and group is not None and any(name not in group.streams for name in names):
        return 400, {"__type": "ResourceNotFoundException", "message": "The specified log stream does not exist."}
    prefix = request.pop("logStreamNamePrefix", None)
    if prefix is None:
        return None
    if group is not None:
        request["logStreamNames"] = sorted(name for name in group.streams if name.startswith(prefix))
        if not request["logStreamNames"]:
            return 200, {"events": [], "searchedLogStreams": []}
    data = json.dumps(request).encode()
    environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(data), str(len(data))
    return None
