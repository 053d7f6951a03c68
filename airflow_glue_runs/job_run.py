"""The Glue job run model: the one place where a run's state is given a meaning.

``JobRunState`` lists Glue's ten run states and classifies each exactly once (:class:`RunCategory`).
``JobRun`` is an immutable record of a ``JobRun`` response with a lossless round trip to plain JSON data,
which is what trigger events and XCom carry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = ["JobRun", "JobRunState", "RunCategory", "UnknownJobRunStateError"]


class UnknownJobRunStateError(ValueError):
    """Glue reported a run state this version of airflow-glue-runs does not know."""

    def __init__(self, value: object) -> None:
        allowed = ", ".join(JobRunState)
        super().__init__(
            f"Unknown Glue JobRunState {value!r}: known states are {allowed}. "
            "Upgrade airflow-glue-runs; it refuses to guess what a new state means."
        )
        self.value = value


class RunCategory(StrEnum):
    """What a run state means for whoever waits on the run."""

    ACTIVE = "active"
    """Glue is working on the run (or stopping it); keep waiting."""
    QUEUED = "queued"
    """The run waits in Glue's job run queue (WAITING); keep waiting, within the queue budget."""
    SUCCEEDED = "succeeded"
    """The run finished successfully."""
    FAILED = "failed"
    """The run ended without success."""
    TIMED_OUT = "timed_out"
    """The run hit its own ``Timeout`` and Glue ended it."""

    @property
    def is_terminal(self) -> bool:
        """Whether a run in this category will not change state any more."""
        return self not in (RunCategory.ACTIVE, RunCategory.QUEUED)


class JobRunState(StrEnum):
    """Glue's ``JobRunState`` values; :attr:`category` is their only interpretation in this project."""

    STARTING = "STARTING"
    RUNNING = "RUNNING"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMEOUT = "TIMEOUT"
    ERROR = "ERROR"
    WAITING = "WAITING"
    EXPIRED = "EXPIRED"

    @classmethod
    def parse(cls, value: object) -> JobRunState:
        """Return the state named ``value``; raise :class:`UnknownJobRunStateError` for anything else."""
        if isinstance(value, str) and value in cls.__members__:
            return cls[value]
        raise UnknownJobRunStateError(value)

    @property
    def category(self) -> RunCategory:
        """The meaning of this state (see the table in the docs' "Glue run states" page)."""
        return _CATEGORY[self]

    @property
    def is_terminal(self) -> bool:
        """Whether the run is over."""
        return self.category.is_terminal

    @property
    def is_successful(self) -> bool:
        """Whether the run is over and succeeded."""
        return self.category is RunCategory.SUCCEEDED

    @property
    def is_queued(self) -> bool:
        """Whether the run waits in Glue's job run queue."""
        return self.category is RunCategory.QUEUED

    @property
    def is_running(self) -> bool:
        """Whether the job's code runs: what a wait with ``wait_until="running"`` waits for (a streaming job)."""
        return self in _RUNNING


_CATEGORY: dict[JobRunState, RunCategory] = {
    JobRunState.STARTING: RunCategory.ACTIVE,
    # RUNNING is active, and also the goal of a wait with wait_until="running" (_RUNNING): the task succeeds then.
    JobRunState.RUNNING: RunCategory.ACTIVE,
    # STOPPING is still active: the run holds resources until Glue reports STOPPED.
    JobRunState.STOPPING: RunCategory.ACTIVE,
    JobRunState.WAITING: RunCategory.QUEUED,
    JobRunState.SUCCEEDED: RunCategory.SUCCEEDED,
    JobRunState.FAILED: RunCategory.FAILED,
    JobRunState.ERROR: RunCategory.FAILED,
    # STOPPED is a failure because Glue cannot tell a console stop from our own on_kill: the work was not done.
    JobRunState.STOPPED: RunCategory.FAILED,
    # EXPIRED is a queued run that never started, or a streaming run that Glue replaced by a new run (a new run id)
    # at a maintenance restart: the work of this run id was not done either.
    JobRunState.EXPIRED: RunCategory.FAILED,
    JobRunState.TIMEOUT: RunCategory.TIMED_OUT,
}
_RUNNING = frozenset({JobRunState.RUNNING})
"""The states a wait with ``wait_until="running"`` succeeds in (besides SUCCEEDED): not STARTING, not STOPPING."""


# API field name -> (attribute name, kind). Kinds: "str", "int", "float", "bool", "time", "state", "json".
_FIELDS: dict[str, tuple[str, str]] = {
    "Id": ("id", "str"),
    "Attempt": ("attempt", "int"),
    "PreviousRunId": ("previous_run_id", "str"),
    "TriggerName": ("trigger_name", "str"),
    "JobName": ("job_name", "str"),
    "JobMode": ("job_mode", "str"),
    "JobRunQueuingEnabled": ("job_run_queuing_enabled", "bool"),
    "StartedOn": ("started_on", "time"),
    "LastModifiedOn": ("last_modified_on", "time"),
    "CompletedOn": ("completed_on", "time"),
    "JobRunState": ("state", "state"),
    "Arguments": ("arguments", "json"),
    "ErrorMessage": ("error_message", "str"),
    "PredecessorRuns": ("predecessor_runs", "json"),
    "AllocatedCapacity": ("allocated_capacity", "int"),
    "ExecutionTime": ("execution_time", "int"),
    "Timeout": ("timeout", "int"),
    "MaxCapacity": ("max_capacity", "float"),
    "WorkerType": ("worker_type", "str"),
    "NumberOfWorkers": ("number_of_workers", "int"),
    "SecurityConfiguration": ("security_configuration", "str"),
    "LogGroupName": ("log_group_name", "str"),
    "NotificationProperty": ("notification_property", "json"),
    "GlueVersion": ("glue_version", "str"),
    "DPUSeconds": ("dpu_seconds", "float"),
    "ExecutionClass": ("execution_class", "str"),
    "MaintenanceWindow": ("maintenance_window", "str"),
    "ProfileName": ("profile_name", "str"),
    "StateDetail": ("state_detail", "str"),
    "ExecutionRoleSessionPolicy": ("execution_role_session_policy", "str"),
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class JobRun:
    """One Glue job run as Glue reported it; every field of the API's ``JobRun`` may be missing but ``Id``.

    Build it with :meth:`from_api` (a boto3/aiobotocore response, datetimes as objects) or :meth:`from_json`
    (the output of :meth:`to_json`, datetimes as ISO 8601 text). Fields a newer API adds are kept in ``extra``
    so that nothing is lost in a round trip.
    """

    id: str
    job_name: str | None = None
    state: JobRunState | None = None
    attempt: int | None = None
    previous_run_id: str | None = None
    trigger_name: str | None = None
    job_mode: str | None = None
    job_run_queuing_enabled: bool | None = None
    started_on: datetime | None = None
    last_modified_on: datetime | None = None
    completed_on: datetime | None = None
    arguments: Mapping[str, str] | None = None
    error_message: str | None = None
    predecessor_runs: list[dict[str, str]] | None = None
    allocated_capacity: int | None = None
    execution_time: int | None = None
    timeout: int | None = None
    max_capacity: float | None = None
    worker_type: str | None = None
    number_of_workers: int | None = None
    security_configuration: str | None = None
    log_group_name: str | None = None
    notification_property: dict[str, int] | None = None
    glue_version: str | None = None
    dpu_seconds: float | None = None
    execution_class: str | None = None
    maintenance_window: str | None = None
    profile_name: str | None = None
    state_detail: str | None = None
    execution_role_session_policy: str | None = None
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def category(self) -> RunCategory:
        """The meaning of the run's state; a run without a state is taken as still active."""
        return self.state.category if self.state is not None else RunCategory.ACTIVE

    @property
    def is_terminal(self) -> bool:
        """Whether the run is over."""
        return self.category.is_terminal

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> JobRun:
        """Build a run from a ``JobRun`` structure of a Glue response, or from :meth:`to_json` output.

        Timestamps may be ``datetime`` objects (botocore) or ISO 8601 text (JSON); both parse the same way.
        """
        if "Id" not in data:
            raise ValueError(f"A Glue JobRun needs an 'Id'; got fields {sorted(data)}")
        values: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in data.items():
            if key not in _FIELDS:
                extra[key] = value
                continue
            attr, kind = _FIELDS[key]
            if value is None:
                continue
            if kind == "time":
                value = _as_datetime(value)
            elif kind == "state":
                value = JobRunState.parse(value)
            elif kind == "float":
                value = float(value)
            elif kind == "json":
                value = _copy_json(value)
            values[attr] = value
        return cls(**values, extra=extra)

    from_json = from_api

    def with_glue_text(self, change: Callable[[str], str]) -> JobRun:
        """Return this run with ``change`` applied to Glue's free text (``ErrorMessage``, ``StateDetail``).

        Used to mask secret values (:class:`~airflow_glue_runs._internal.masking.Redactor`).
        """
        if self.error_message is None and self.state_detail is None:
            return self
        return dataclasses.replace(
            self,
            error_message=change(self.error_message) if self.error_message is not None else None,
            state_detail=change(self.state_detail) if self.state_detail is not None else None,
        )

    def to_json(self) -> dict[str, Any]:
        """Return the run as JSON-ready data with the API's field names; datetimes become ISO 8601 text."""
        data: dict[str, Any] = {}
        for key, (attr, kind) in _FIELDS.items():
            value = getattr(self, attr)
            if value is None:
                continue
            if kind == "time":
                value = value.isoformat()
            elif kind == "state":
                value = value.value
            elif kind == "json":
                value = _copy_json(value)
            data[key] = value
        data.update(_copy_json(dict(self.extra)))
        return data


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    raise TypeError(f"Expected a datetime or ISO 8601 text, got {type(value).__name__}")


def _copy_json(value: Any) -> Any:
    """Deep-copy plain JSON-like data so a ``JobRun`` never shares mutable state with its source."""
    if isinstance(value, Mapping):
        return {str(k): _copy_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_copy_json(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
