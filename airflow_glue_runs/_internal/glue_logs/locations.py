"""Where a Glue run's CloudWatch logs are: log groups and streams, from the run and its merged arguments.

Followed (AWS's "Logging for AWS Glue jobs" and observed Glue 5.0 runs):

- Groups ``{LogGroupName}/output`` (stdout) and ``{LogGroupName}/error`` (stderr and the Glue logger), with
  ``LogGroupName`` read from the run (``/aws-glue/jobs`` when Glue reports none; a security configuration
  changes it). ``--custom-logGroup-prefix X`` makes them ``X/output`` and ``X/error``.
- The driver stream is the run id; executor streams start with ``{run_id}_``. ``--custom-logStream-prefix P``
  makes them ``P-driver`` and ``P-...``.
- Glue 4.0 and earlier with ``--enable-continuous-cloudwatch-log=true``: executors and the driver also write to
  ``/aws-glue/jobs/logs-v2`` (or ``--continuous-log-logGroup``) in streams that start with the run id (or
  ``--continuous-log-logStreamPrefix``). Those streams are read with ``forward_logs="all"`` only, by prefix:
  their exact names are not documented, and the driver's output is in ``/output`` and ``/error`` anyway.

Not followed: ``--continuous-log-conversionPattern`` and ``--enable-continuous-log-filter`` (they change the
text, not where it is), and the progress-bar stream.

Merged arguments are the job's DefaultArguments (one GetJob per job) overlaid with the run's Arguments, as Glue
merges them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from airflow_glue_runs.exceptions import GlueJobRunParameterError

__all__ = [
    "DEFAULT_LOG_GROUP",
    "ForwardLogs",
    "LogLocation",
    "OwnEvents",
    "StreamKind",
    "check_forward_logs",
    "locate_logs",
    "merge_arguments",
]

DEFAULT_LOG_GROUP = "/aws-glue/jobs"
"""The log group prefix when a run reports no LogGroupName."""
CONTINUOUS_LOG_GROUP = "/aws-glue/jobs/logs-v2"

ForwardLogs = bool | str
"""``False`` (nothing), ``True`` (the driver's lines) or ``"all"`` (driver and executors)."""
StreamKind = Literal["driver", "executor"]
"""Which of a run's streams one read asks for."""


def check_forward_logs(value: object, *, parameter: str = "forward_logs") -> ForwardLogs:
    """Return ``False``, ``True`` or ``"all"``; accept their text forms (a rendered template is text)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "all"):
        text = value.strip().lower()
        return "all" if text == "all" else text == "true"
    raise GlueJobRunParameterError(parameter, f"expected False, True or 'all'; got {value!r}")


def merge_arguments(defaults: Mapping[str, str] | None, arguments: Mapping[str, str] | None) -> dict[str, str]:
    """Return the job's default arguments overlaid with the run's."""
    return {**(defaults or {}), **(arguments or {})}


@dataclasses.dataclass(frozen=True)
class LogLocation:
    """The streams to read for one run.

    :param run_id: the run id.
    :param driver: (group, stream) of the driver, one per group.
    :param executors: (group, stream name prefix) pairs read for ``forward_logs="all"``.
    """

    run_id: str
    driver: tuple[tuple[str, str], ...]
    executors: tuple[tuple[str, str], ...]

    @property
    def driver_streams(self) -> frozenset[str]:
        """Return the driver's stream names (skipped when a prefix read also matches them)."""
        return frozenset(stream for _, stream in self.driver)

    def kind_of(self, group: str, stream: str) -> StreamKind | None:
        """Return whether ``stream`` of ``group`` is this run's driver stream, one of its executors', or neither."""
        if (group, stream) in self.driver:
            return "driver"
        if any(g == group and stream.startswith(prefix) for g, prefix in self.executors):
            return "executor"
        return None

    def own_events(self, group: str, events: Iterable[Mapping[str, Any]], kind: StreamKind) -> OwnEvents:
        """Keep the events of ``group`` that come from this run's streams of ``kind``; count other runs' events.

        The one client-side check of every event both readers forward: a server may ignore
        ``logStreamNames`` and ``logStreamNamePrefix`` (moto does) and answer every stream of the group. An
        event of this run's other kind (an executor's in a driver read, the driver's in an executor prefix read,
        which a custom stream prefix also matches) is left to the read of its kind, not counted.
        """
        own = OwnEvents()
        for event in events:
            found = self.kind_of(group, str(event.get("logStreamName", "")))
            if found == kind:
                own.events.append(event)
            elif found is None:
                own.foreign += 1
        return own

    def label(self, group: str, stream: str) -> str:
        """Return the short name of a stream for the log prefix: ``driver``, ``g-1a2b``, ``driver/error``..."""
        if stream in self.driver_streams:
            name = "driver"
        else:
            name = next(
                (stream.removeprefix(prefix).lstrip("_-") for g, prefix in self.executors if g == group), stream
            )
            name = name or stream
        if group.endswith("/error"):
            return f"{name}/error"
        if group.endswith("/output"):
            return name
        return f"{name} ({group.rsplit('/', 1)[-1]})"


@dataclasses.dataclass
class OwnEvents:
    """The events of one read that belong to the run, and how many came from other streams (not the run's)."""

    events: list[Mapping[str, Any]] = dataclasses.field(default_factory=list)
    foreign: int = 0


def locate_logs(run_id: str, log_group_name: str | None, arguments: Mapping[str, str]) -> LogLocation:
    """Return where the run's logs are.

    :param run_id: the run id.
    :param log_group_name: the run's ``LogGroupName`` (None: ``/aws-glue/jobs``).
    :param arguments: the run's merged arguments (job defaults overlaid with the run's).
    """
    base = (arguments.get("--custom-logGroup-prefix") or log_group_name or DEFAULT_LOG_GROUP).rstrip("/")
    groups = (f"{base}/output", f"{base}/error")
    prefix = arguments.get("--custom-logStream-prefix")
    driver_stream, executor_prefix = (f"{prefix}-driver", f"{prefix}-") if prefix else (run_id, f"{run_id}_")
    executors = [(group, executor_prefix) for group in groups]
    if str(arguments.get("--enable-continuous-cloudwatch-log", "")).strip().lower() == "true":
        continuous = (arguments.get("--continuous-log-logGroup") or CONTINUOUS_LOG_GROUP).rstrip("/")
        stream_prefix = arguments.get("--continuous-log-logStreamPrefix") or ""
        executors.append((continuous, f"{stream_prefix}{run_id}"))
    return LogLocation(run_id, tuple((group, driver_stream) for group in groups), tuple(executors))
