"""The field-by-field difference between a declared job definition and the one Glue holds, and the UpdateJob body.

Both sides are compared after filling in what Glue fills in by itself (:data:`GLUE_DEFAULTS`, the Timeout by
Glue version, the Python version by command), with a role name equal to an ARN that ends with it, and with the
MaxCapacity Glue reports for a worker-type job ignored; so an unchanged spec shows no change and makes no write.
Only declared fields are compared. UpdateJob overwrites the whole definition, so :func:`job_update` sends the
current definition overlaid with the declared fields: what someone else set and the spec does not declare stays.

Values of secret job arguments (a sensitive name, or listed in ``secret_arguments``) are shown as ``***``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from airflow_glue_runs._internal.definitions.spec import API_FIELD_NAMES
from airflow_glue_runs._internal.masking import MASK

__all__ = ["GLUE_DEFAULTS", "FieldChange", "compare", "job_update", "same_role", "tag_changes"]

GLUE_DEFAULTS: Mapping[str, Any] = {
    "Description": "",
    "DefaultArguments": {},
    "NonOverridableArguments": {},
    "Connections": {"Connections": []},
    "MaxRetries": 0,
    "ExecutionProperty": {"MaxConcurrentRuns": 1},
    "ExecutionClass": "STANDARD",
    "JobRunQueuingEnabled": False,
}
"""What GetJob reports for a field that was never set (Timeout and Command.PythonVersion depend on the job)."""

_PYTHON_VERSION_BY_COMMAND = {"glueetl": "3", "gluestreaming": "3", "pythonshell": "3.9"}
_ARGUMENT_FIELDS = ("DefaultArguments", "NonOverridableArguments")
_COMMAND_KEYS = {"Name": "name", "ScriptLocation": "script", "PythonVersion": "python_version", "Runtime": "runtime"}
_NESTED = {"ExecutionProperty": "MaxConcurrentRuns", "NotificationProperty": "NotifyDelayAfter"}
_UNSET = object()


@dataclasses.dataclass(frozen=True)
class FieldChange:
    """One changed field: its spec name (``worker_type``, ``default_arguments['--day']``), old and new value.

    ``None`` means unset; secret argument values are ``***``.
    """

    field: str
    old: Any
    new: Any

    def line(self) -> str:
        """Return ``field: old -> new`` for the task log."""
        return f"{self.field}: {_show(self.old)} -> {_show(self.new)}"

    def to_json(self) -> dict[str, Any]:
        """Return the change as plain JSON data (for XCom)."""
        return {"field": self.field, "old": self.old, "new": self.new}


def _show(value: Any) -> str:
    return "(unset)" if value is None else json.dumps(value, sort_keys=True, default=str)


@cache
def _job_update_fields() -> frozenset[str]:
    import botocore.session

    shape: Any = botocore.session.get_session().get_service_model("glue").shape_for("JobUpdate")
    return frozenset(shape.members)


def default_timeout(glue_version: object) -> int:
    """Glue's Timeout in minutes when none is set: 2880 up to Glue 4.0, 480 from Glue 5.0."""
    try:
        major = float(str(glue_version))
    except ValueError:
        return 2880
    return 480 if major >= 5.0 else 2880


def same_role(declared: str, current: object) -> bool:
    """Whether two roles are the same: a name equals an ARN whose last path segment it is (no IAM call)."""
    return isinstance(current, str) and _role_name(declared) == _role_name(current)


def _role_name(role: str) -> str:
    return role.rsplit("/", 1)[-1] if role.startswith("arn:") else role


def _filled(current: Mapping[str, Any], field: str) -> Any:
    """Return the current value of a top-level field, or what Glue reports when it was never set."""
    value = current.get(field, _UNSET)
    if value is not _UNSET and value is not None:
        return value
    if field == "Timeout":
        return default_timeout(current.get("GlueVersion"))
    return GLUE_DEFAULTS.get(field)


def _display_name(field: str) -> str:
    return API_FIELD_NAMES.get(field, f"extra_job_fields.{field}")


def compare(
    declared: Mapping[str, Any], current: Mapping[str, Any] | None, *, secret: Callable[[str], bool]
) -> list[FieldChange]:
    """Return the declared fields whose value differs from the current definition (``None``: no job yet).

    :param declared: the declared definition as API fields (``JobSpec.declared_fields``).
    :param current: the job as GetJob returned it.
    :param secret: whether a job argument name holds a secret (its values are shown as ``***``).
    """
    changes: list[FieldChange] = []
    job = current or {}
    for field, value in declared.items():
        old = _filled(job, field) if current is not None else None
        if field in _ARGUMENT_FIELDS:
            changes += _argument_changes(_display_name(field), old or {}, value, secret)
        elif field == "Command":
            changes += _command_changes(value, old, current is not None)
        elif field in _NESTED:
            key = _NESTED[field]
            old_value = (old or {}).get(key)
            if old_value != value.get(key):
                changes.append(FieldChange(_display_name(field), old_value, value.get(key)))
        elif field == "Connections":
            old_names = sorted((old or {}).get("Connections") or [])
            if old_names != sorted(value.get("Connections") or []):
                changes.append(FieldChange("connections", old_names or None, list(value.get("Connections") or [])))
        elif field == "Role" and old is not None and same_role(value, old):
            continue
        elif not _equal(old, value):
            changes.append(FieldChange(_display_name(field), old, value))
    if current is not None:
        changes += _sizing_dropped(declared, current)
    return changes


def _equal(old: Any, new: Any) -> bool:
    if isinstance(new, float) and isinstance(old, int | float) and not isinstance(old, bool):
        return float(old) == new
    return bool(old == new)


def _argument_changes(
    name: str, old: Mapping[str, str], new: Mapping[str, str], secret: Callable[[str], bool]
) -> list[FieldChange]:
    changes = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before != after:
            hidden = secret(key)
            changes.append(
                FieldChange(
                    f"{name}[{key!r}]",
                    MASK if hidden and before is not None else before,
                    MASK if hidden and after is not None else after,
                )
            )
    return changes


def _command_changes(declared: Mapping[str, Any], old: Mapping[str, Any] | None, exists: bool) -> list[FieldChange]:
    old = dict(old or {})
    if exists and "PythonVersion" not in old and old.get("Name") in _PYTHON_VERSION_BY_COMMAND:
        old["PythonVersion"] = _PYTHON_VERSION_BY_COMMAND[old["Name"]]
    return [
        FieldChange(f"command.{_COMMAND_KEYS.get(key, key)}", old.get(key), value)
        for key, value in declared.items()
        if old.get(key) != value
    ]


def _sizing_dropped(declared: Mapping[str, Any], current: Mapping[str, Any]) -> list[FieldChange]:
    """The sizing fields the update drops because a declared field excludes them (workers vs MaxCapacity).

    The MaxCapacity Glue reports for a job that already has workers is derived from them, not dropped.
    """
    if current.get("WorkerType") is not None and declared.get("WorkerType") is not None:
        return []
    return [
        FieldChange(_display_name(field), current[field], None)
        for field in _excluded_by(declared)
        if current.get(field) is not None and field not in declared
    ]


def _excluded_by(declared: Mapping[str, Any]) -> tuple[str, ...]:
    if declared.get("WorkerType") is not None:
        return ("MaxCapacity",)  # Glue reports a worker job's DPUs here; sending them back is refused
    if declared.get("MaxCapacity") is not None:
        return ("WorkerType", "NumberOfWorkers")
    return ()


def job_update(declared: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """Return UpdateJob's ``JobUpdate``: the current definition overlaid with the declared fields.

    Read-only fields are left out; nested shapes (Command, ExecutionProperty, NotificationProperty) are merged key
    by key; MaxCapacity and AllocatedCapacity are not carried over when the result has workers (Glue refuses
    both together), nor WorkerType and NumberOfWorkers when MaxCapacity is declared.
    """
    update = {field: value for field, value in current.items() if field in _job_update_fields() and value is not None}
    for field, value in declared.items():
        if isinstance(value, Mapping) and field in ("Command", *_NESTED) and isinstance(update.get(field), Mapping):
            update[field] = {**update[field], **value}
        else:
            update[field] = value
    for field in _excluded_by(declared):
        update.pop(field, None)
    if update.get("WorkerType") is not None:
        update.pop("MaxCapacity", None)
    if update.get("WorkerType") is not None or update.get("MaxCapacity") is not None:
        update.pop("AllocatedCapacity", None)  # deprecated; Glue refuses it beside MaxCapacity or workers
    return update


def tag_changes(
    declared: Mapping[str, str] | None, current: Mapping[str, str], *, purge: bool
) -> tuple[dict[str, str], list[str], list[FieldChange]]:
    """Return the tags to add or change, the keys to remove, and the changes to report.

    Tags the spec does not list are removed only with ``purge``; ``aws:`` tags are never touched.
    """
    wanted = dict(declared or {})
    to_add = {key: value for key, value in wanted.items() if current.get(key) != value}
    to_remove = sorted(key for key in current if purge and key not in wanted and not key.startswith("aws:"))
    changes = [FieldChange(f"tags[{key!r}]", current.get(key), value) for key, value in sorted(to_add.items())]
    changes += [FieldChange(f"tags[{key!r}]", current[key], None) for key in to_remove]
    return to_add, to_remove, changes
