"""The Glue job definition a DAG declares: a checked, frozen spec and the CreateJob/JobUpdate fields it stands for.

:func:`build_job_spec` reads the operator's rendered spec parameters (after Jinja, as text or native objects), checks
each value and the combinations the Glue API documents as impossible, and raises
:class:`~airflow_glue_runs.exceptions.GlueJobRunParameterError` naming the parameter before any AWS call. A
parameter left out (or ``None``) is not declared: the reconcile step leaves that field as the existing job has it.
Nothing here calls AWS or imports Airflow itself (the argument parser it reuses does, through the masking helpers).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator, Mapping
from typing import Any

from airflow_glue_runs._internal.definitions import spec_checks as checks
from airflow_glue_runs._internal.definitions.spec_checks import COMMAND_NAMES, MODELLED_FIELDS
from airflow_glue_runs._internal.definitions.spec_rules import check_combinations, check_creatable
from airflow_glue_runs._internal.start.request import check_choice, check_name
from airflow_glue_runs.exceptions import GlueJobRunParameterError

__all__ = ["API_FIELD_NAMES", "COMMAND_NAMES", "SPEC_FIELDS", "CommandSpec", "JobSpec", "build_job_spec"]

SPEC_FIELDS: tuple[str, ...] = (
    "role",
    "command",
    "glue_version",
    "worker_type",
    "number_of_workers",
    "max_capacity",
    "timeout",
    "max_retries",
    "max_concurrent_runs",
    "default_arguments",
    "non_overridable_arguments",
    "connections",
    "security_configuration",
    "notify_delay_after",
    "execution_class",
    "job_run_queuing_enabled",
    "maintenance_window",
    "description",
    "tags",
    "extra_job_fields",
)
"""The operator's spec parameters (snake_case), in the order the declared fields are built."""

_API_MEMBER = {param: api for api, param in MODELLED_FIELDS.items()}
"""Spec parameter -> the CreateJob member it sets."""
_NOT_PLAIN = frozenset({"command", "max_concurrent_runs", "connections", "notify_delay_after", "tags"})
"""The spec parameters that are not sent as they are under their own member (nested, or not a job field)."""


@dataclasses.dataclass(frozen=True)
class CommandSpec:
    """The job's command (JobCommand): what runs, and where its script is.

    :param name: one of :data:`COMMAND_NAMES`; ``None`` when the spec's mapping leaves it out (an existing job keeps
        its command; a new one is ``glueetl``, as Glue makes it).
    :param script: a local path or an ``s3://`` URI, as declared (a local file is uploaded by the operator).
    :param python_version: ``"3"``, ``"3.9"`` (or ``"2"`` for old Spark jobs), as text.
    :param runtime: the Ray runtime of a glueray job, e.g. ``"Ray2.4"``.
    """

    name: str | None = None
    script: str | None = None
    python_version: str | None = None
    runtime: str | None = None

    @property
    def script_is_s3(self) -> bool:
        """Whether the script is already in S3 (an ``s3://`` URI), so nothing needs uploading."""
        return self.script is not None and self.script.startswith("s3://")

    def api_fields(self, script_location: str | None = None) -> dict[str, str]:
        """Return the JobCommand with only the declared keys; ``script_location`` replaces the declared script."""
        script = script_location if script_location is not None else self.script
        pairs = (
            ("Name", self.name),
            ("ScriptLocation", script),
            ("PythonVersion", self.python_version),
            ("Runtime", self.runtime),
        )
        return {key: value for key, value in pairs if value is not None}


@dataclasses.dataclass(frozen=True)
class JobSpec:
    """A checked Glue job definition; each field ``None`` is not declared (the existing job's value stays).

    Build it with :func:`build_job_spec`, which checks every value; the constructor checks nothing.
    """

    job_name: str
    role: str | None = None
    command: CommandSpec | None = None
    glue_version: str | None = None
    worker_type: str | None = None
    number_of_workers: int | None = None
    max_capacity: float | None = None
    timeout: int | None = None
    max_retries: int | None = None
    max_concurrent_runs: int | None = None
    default_arguments: Mapping[str, str] | None = None
    non_overridable_arguments: Mapping[str, str] | None = None
    connections: tuple[str, ...] | None = None
    security_configuration: str | None = None
    notify_delay_after: int | None = None
    execution_class: str | None = None
    job_run_queuing_enabled: bool | None = None
    maintenance_window: str | None = None
    description: str | None = None
    tags: Mapping[str, str] | None = None
    extra_job_fields: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def declared_fields(self, script_location: str | None = None) -> dict[str, Any]:
        """Return the declared definition as Glue API fields (CreateJob/JobUpdate shapes), without Name and Tags.

        Only declared fields appear. ``Command`` holds only its declared keys, with ``ScriptLocation`` set to
        ``script_location`` when given (the S3 URI the script was uploaded to); ``max_concurrent_runs``,
        ``connections`` and ``notify_delay_after`` are nested as the API nests them; ``extra_job_fields`` come last.
        Mappings are copies: changing the result does not change the spec.

        :param script_location: the S3 URI to use instead of the declared script.
        """
        fields: dict[str, Any] = {}
        for param in SPEC_FIELDS:
            value = getattr(self, param)
            if value is None:
                continue
            if param == "command":
                fields["Command"] = value.api_fields(script_location)
            elif param == "max_concurrent_runs":
                fields["ExecutionProperty"] = {"MaxConcurrentRuns": value}
            elif param == "connections":
                fields["Connections"] = {"Connections": list(value)}
            elif param == "notify_delay_after":
                fields["NotificationProperty"] = {"NotifyDelayAfter": value}
            elif param not in _NOT_PLAIN and param in _API_MEMBER:
                fields[_API_MEMBER[param]] = dict(value) if isinstance(value, Mapping) else value
        fields.update(self.extra_job_fields)
        return fields

    def create_request(self, script_location: str | None = None) -> dict[str, Any]:
        """Return CreateJob's request: ``Name``, the declared fields, and ``Tags`` when declared.

        Raises :class:`~airflow_glue_runs.exceptions.GlueJobRunParameterError` when something CreateJob needs is not
        declared: ``role``, ``command`` and its script (in S3: pass ``script_location`` after uploading a local
        file), and for a glueray job its worker type.

        :param script_location: the S3 URI to use instead of the declared script.
        """
        command = dataclasses.asdict(self.command) if self.command is not None else None
        check_creatable(
            {"role": self.role, "command": command, "worker_type": self.worker_type}, script_location=script_location
        )
        request = {"Name": self.job_name, **self.declared_fields(script_location)}
        request["Command"] = {"Name": "glueetl", **request["Command"]}  # Glue's default command when none is named
        if self.tags is not None:
            request["Tags"] = dict(self.tags)
        return request


class _ApiFieldNames(Mapping[str, str]):
    """CreateJob member -> the spec parameter a user writes for it; unmodelled members -> ``extra_job_fields.X``.

    The members are read from botocore's Glue model on first use, not when the module is imported.
    """

    @functools.cached_property
    def _names(self) -> dict[str, str]:
        members = checks.create_job_input().members
        return {**{member: f"extra_job_fields.{member}" for member in members}, **MODELLED_FIELDS}

    def __getitem__(self, key: str) -> str:
        return self._names[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


API_FIELD_NAMES: Mapping[str, str] = _ApiFieldNames()
"""CreateJob's top-level members (and ``Name``, ``Tags``) -> the spec parameter a user wrote, for messages and diffs:
``{"Role": "role", "ExecutionProperty": "max_concurrent_runs", ..., "LogUri": "extra_job_fields.LogUri"}``."""


def build_job_spec(job_name: object, values: Mapping[str, Any]) -> JobSpec:
    """Check and convert the operator's rendered spec parameters into a :class:`JobSpec`.

    Text is read as the field needs it (``"10"`` -> 10, ``"0.0625"`` -> 0.0625, ``"true"`` -> True, ``4.0`` ->
    ``"4.0"``); then the combinations the Glue API documents as impossible are refused
    (:func:`~airflow_glue_runs._internal.definitions.spec_rules.check_combinations`), considering only what the spec
    declares.

    :param job_name: the Glue job's name.
    :param values: spec parameters by name (keys from :data:`SPEC_FIELDS`); a missing or ``None`` one is not declared.
    :raises GlueJobRunParameterError: naming the parameter (``worker_type``, ``command.name``, ``tags``,
        ``extra_job_fields.LogUri``...) and what is allowed.
    """
    name = check_name("job_name", job_name)
    if unknown := sorted(set(values) - set(SPEC_FIELDS)):
        raise GlueJobRunParameterError("spec", f"unknown parameter(s) {', '.join(unknown)}; allowed: {SPEC_FIELDS}")
    declared = {param: value for param, value in values.items() if value is not None}
    checked: dict[str, Any] = {param: _check_value(param, value) for param, value in declared.items()}
    check_combinations(checked)
    command = checked.pop("command", None)
    return JobSpec(
        job_name=name,
        command=CommandSpec(**command) if command is not None else None,
        **checked,
    )


def _check_value(param: str, value: object) -> Any:
    """Return one declared spec value converted and checked (see :mod:`.spec_checks`)."""
    if param in checks.INT_BOUNDS:
        return checks.to_int(param, value)
    if param in ("worker_type", "execution_class"):
        return check_choice(param, value, checks.model_enum(_API_MEMBER[param]))
    if param in ("default_arguments", "non_overridable_arguments"):
        return checks.to_arguments(param, value)
    if param == "security_configuration":
        return check_name(param, value)
    if param == "job_run_queuing_enabled":
        return checks.to_flag(param, value)
    readers = {
        "role": checks.to_role,
        "command": checks.to_command,
        "glue_version": checks.to_glue_version,
        "max_capacity": checks.to_capacity,
        "connections": checks.to_connections,
        "maintenance_window": checks.to_maintenance_window,
        "description": checks.to_description,
        "tags": checks.to_tags,
        "extra_job_fields": checks.to_extra_job_fields,
    }
    return readers[param](value)
