"""Read and check the job spec's values one at a time, after Jinja, the way the Glue API takes them.

Without ``render_template_as_native_obj`` every templated value arrives as text, so numbers and booleans are read
from text as the run options are (:func:`~airflow_glue_runs._internal.start.options.read_rendered`). Under native
rendering ``"4.0"`` becomes the float ``4.0``, which CreateJob refuses as a GlueVersion (the Amazon provider's bug
#32404); versions are therefore turned back into text here. Each error names the parameter as the user wrote it.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Any

from airflow_glue_runs._internal.start.arguments import parse_arguments
from airflow_glue_runs._internal.start.options import check_flag, read_rendered
from airflow_glue_runs._internal.start.request import (
    INT32_MAX,
    MAX_TIMEOUT_MINUTES,
    check_choice,
    check_int,
    check_max_capacity,
    check_name,
    normalize_arguments,
)
from airflow_glue_runs.exceptions import GlueJobRunParameterError

__all__ = [
    "COMMAND_NAMES",
    "INT_BOUNDS",
    "MODELLED_FIELDS",
    "create_job_input",
    "model_enum",
    "to_arguments",
    "to_capacity",
    "to_command",
    "to_connections",
    "to_description",
    "to_extra_job_fields",
    "to_flag",
    "to_glue_version",
    "to_int",
    "to_maintenance_window",
    "to_role",
    "to_tags",
    "version_tuple",
]

COMMAND_NAMES = ("glueetl", "pythonshell", "gluestreaming", "glueray")
"""JobCommand.Name values: Spark ETL, Python shell, Spark streaming, Ray (botocore's JobCommand.Name doc)."""

INT_BOUNDS: Mapping[str, tuple[int, int]] = {
    "number_of_workers": (1, INT32_MAX),
    "timeout": (1, MAX_TIMEOUT_MINUTES - 1),  # "Jobs must have timeout values less than 7 days or 10080 minutes"
    "max_retries": (0, INT32_MAX),
    "max_concurrent_runs": (1, INT32_MAX),  # the upper bound is a service quota, which Glue checks
    "notify_delay_after": (1, INT32_MAX),  # NotificationProperty.NotifyDelayAfter: min 1
}
"""The integer spec parameters and their allowed range (botocore's Glue model and its CreateJob docs)."""

MODELLED_FIELDS: Mapping[str, str] = {
    "Name": "job_name",
    "Role": "role",
    "Command": "command",
    "GlueVersion": "glue_version",
    "WorkerType": "worker_type",
    "NumberOfWorkers": "number_of_workers",
    "MaxCapacity": "max_capacity",
    "Timeout": "timeout",
    "MaxRetries": "max_retries",
    "ExecutionProperty": "max_concurrent_runs",
    "DefaultArguments": "default_arguments",
    "NonOverridableArguments": "non_overridable_arguments",
    "Connections": "connections",
    "SecurityConfiguration": "security_configuration",
    "NotificationProperty": "notify_delay_after",
    "ExecutionClass": "execution_class",
    "JobRunQueuingEnabled": "job_run_queuing_enabled",
    "MaintenanceWindow": "maintenance_window",
    "Description": "description",
    "Tags": "tags",
}
"""CreateJob's members that the spec models, each with the spec parameter that sets it."""

_DEPRECATED_FIELDS = {"AllocatedCapacity": "deprecated by AWS; use max_capacity, or worker_type with number_of_workers"}
_SHAPE_TYPES: dict[str, tuple[type | tuple[type, ...], str]] = {
    "string": (str, "text"),
    "structure": (Mapping, "a mapping"),
    "map": (Mapping, "a mapping"),
    "list": ((list, tuple), "a list"),
    "boolean": (bool, "True or False"),
}

_COMMAND_KEYS = {
    "name": "name",
    "script": "script",
    "python_version": "python_version",
    "runtime": "runtime",
    "Name": "name",
    "ScriptLocation": "script",
    "PythonVersion": "python_version",
    "Runtime": "runtime",
}
_GLUE_VERSION = re.compile(r"\d+\.\d+")
_PYTHON_VERSION = re.compile(r"[2-3]|3[.]9")  # JobCommand.PythonVersion's pattern in botocore's model
_MAINTENANCE_WINDOW = re.compile(r"(Sun|Mon|Tue|Wed|Thu|Fri|Sat):([01]?[0-9]|2[0-3])")  # the model's pattern
_S3_URI = re.compile(r"s3://[^/]+/.+")
_MAX_SCRIPT_LOCATION = 400000  # JobCommand.ScriptLocation: max 400000
_MAX_RUNTIME = 64  # JobCommand.Runtime: max 64
# IAM's RoleName: 1-64 of letters, digits and _+=,.@- ; an ARN may carry a path (role/path/name).
_ROLE_NAME = re.compile(r"[A-Za-z0-9_+=,.@-]{1,64}")
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/([A-Za-z0-9_+=,.@-]+/)*[A-Za-z0-9_+=,.@-]{1,64}")
# DescriptionString: up to 2048 characters, no control characters but tab, CR and LF.
_DESCRIPTION = re.compile("[\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff\r\n\t]*")
_MAX_DESCRIPTION = 2048
_MAX_CONNECTIONS = 1000  # ConnectionsList.Connections: max 1000
_MAX_TAGS, _MAX_TAG_KEY, _MAX_TAG_VALUE = 50, 128, 256  # TagsMap: max 50; TagKey 1-128; TagValue 0-256


@functools.cache
def create_job_input() -> Any:
    """Return CreateJob's input shape from botocore's Glue model (loaded once, on first use)."""
    import botocore.session

    return botocore.session.get_session().get_service_model("glue").operation_model("CreateJob").input_shape


def model_enum(member: str) -> tuple[str, ...]:
    """Return the allowed values of a CreateJob member (``WorkerType``, ``ExecutionClass``) from botocore's model."""
    return tuple(create_job_input().members[member].enum)


def _type_error(parameter: str, expected: str, value: object) -> GlueJobRunParameterError:
    return GlueJobRunParameterError(parameter, f"expected {expected}, got {type(value).__name__}")


def to_int(parameter: str, value: object) -> int:
    """Read an integer spec parameter (``"10"`` from text) and check it is within :data:`INT_BOUNDS`."""
    minimum, maximum = INT_BOUNDS[parameter]
    return check_int(parameter, read_rendered(parameter, value, int), minimum=minimum, maximum=maximum)


def to_capacity(value: object) -> float:
    """Read ``max_capacity`` (``"0.0625"`` from text): 0.0625 or 1, or a whole number from 2 to 100."""
    return check_max_capacity(read_rendered("max_capacity", value, float))


def to_flag(parameter: str, value: object) -> bool:
    """Read a True/False parameter (``"true"``/``"false"`` from text, in any case)."""
    return check_flag(parameter, read_rendered(parameter, value, bool))


def _version_text(parameter: str, value: object, *, whole_number_suffix: str) -> str:
    """Turn a version that native rendering made a number back into text: 4.0 -> "4.0", 3.9 -> "3.9"."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return repr(value)  # repr keeps one decimal at least: 4.0 -> "4.0"; inf and nan fail the pattern
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value}{whole_number_suffix}"
    raise _type_error(parameter, "version text such as '4.0'", value)


def to_glue_version(value: object) -> str:
    """Read ``glue_version`` as text ``major.minor`` ("4.0"); a float 4.0 or an int 5 becomes "4.0" or "5.0"."""
    text = _version_text("glue_version", value, whole_number_suffix=".0")
    if not _GLUE_VERSION.fullmatch(text):
        raise GlueJobRunParameterError("glue_version", f"{text!r} is not a Glue version such as '4.0' or '5.0'")
    return text


def version_tuple(version: str | None) -> tuple[int, int] | None:
    """Return a checked Glue version as ``(major, minor)`` for comparisons, ``None`` when it is not declared."""
    if version is None:
        return None
    major, minor = version.split(".")
    return int(major), int(minor)


def _python_version(value: object) -> str:
    text = _version_text("command.python_version", value, whole_number_suffix="")
    if not _PYTHON_VERSION.fullmatch(text):
        raise GlueJobRunParameterError("command.python_version", f"{text!r} is not allowed; allowed: 2, 3, 3.9")
    return text


def _text(parameter: str, value: object, maximum: int) -> str:
    if not isinstance(value, str):
        raise _type_error(parameter, "text", value)
    if not 1 <= len(value) <= maximum:
        raise GlueJobRunParameterError(parameter, f"has {len(value)} characters; allowed are 1 to {maximum}")
    return value


def _json_object(parameter: str, value: object, expected: str) -> object:
    """Parse text that starts with ``{`` as JSON; return anything else unchanged."""
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            return json.loads(value)
        except json.JSONDecodeError as err:
            raise GlueJobRunParameterError(parameter, f"invalid JSON: {err.msg} at character {err.pos + 1}") from None
    if not isinstance(value, Mapping):
        raise _type_error(parameter, expected, value)
    return value


def to_command(value: object) -> dict[str, str | None]:
    """Read ``command``: a mapping (or JSON text of one) with ``name``, ``script``, ``python_version``, ``runtime``.

    The API's own keys (``Name``, ``ScriptLocation``, ``PythonVersion``, ``Runtime``) are accepted too, as users copy
    them from ``create_job_kwargs``. ``name`` stays ``None`` when left out: an existing job keeps its command name,
    and a new job gets Glue's default, ``glueetl``.
    """
    mapping = _json_object("command", value, "a mapping with name, script, python_version, runtime (or JSON text)")
    assert isinstance(mapping, Mapping)
    read: dict[str, object] = {}
    for key, item in mapping.items():
        field = _COMMAND_KEYS.get(key) if isinstance(key, str) else None
        if field is None:
            allowed = "name, script, python_version, runtime (or Name, ScriptLocation, PythonVersion, Runtime)"
            raise GlueJobRunParameterError("command", f"unknown key {key!r}; allowed: {allowed}")
        if field in read:
            raise GlueJobRunParameterError("command", f"{field} is given twice (as {key!r} and under another name)")
        read[field] = item
    name = read.get("name")
    command: dict[str, str | None] = {
        "name": None if name is None else check_choice("command.name", name, COMMAND_NAMES),
        "script": None,
        "python_version": None,
        "runtime": None,
    }
    if (script := read.get("script")) is not None:
        text = _text("command.script", script, _MAX_SCRIPT_LOCATION)
        if text.startswith("s3://") and not _S3_URI.fullmatch(text):
            raise GlueJobRunParameterError("command.script", f"{text!r} is not an S3 URI s3://bucket/key")
        command["script"] = text
    if (python := read.get("python_version")) is not None:
        command["python_version"] = _python_version(python)
    if (runtime := read.get("runtime")) is not None:
        command["runtime"] = _text("command.runtime", runtime, _MAX_RUNTIME)
    return command


def to_arguments(parameter: str, value: object) -> dict[str, str]:
    """Read job arguments as run arguments are (mapping, JSON or CLI shorthand text; values made text)."""
    return normalize_arguments(parse_arguments(value, parameter=parameter), parameter=parameter)


def to_connections(value: object) -> tuple[str, ...]:
    """Read ``connections``: a list of names, JSON text of one, or a single name."""
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            raise GlueJobRunParameterError(
                "connections", f"invalid JSON: {err.msg} at character {err.pos + 1}"
            ) from None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise _type_error("connections", "a list of connection names", value)
    names = tuple(check_name("connections", name) for name in value)
    if len(names) > _MAX_CONNECTIONS:
        raise GlueJobRunParameterError("connections", f"{len(names)} connections; allowed: at most {_MAX_CONNECTIONS}")
    if repeated := sorted({name for name in names if names.count(name) > 1}):
        raise GlueJobRunParameterError("connections", f"{', '.join(map(repr, repeated))} listed more than once")
    return names


def to_tags(value: object) -> dict[str, str]:
    """Read ``tags``: a mapping (or JSON text) of key to value, values made text like job arguments.

    Refused, as AWS refuses them: more than 50 tags, keys over 128 or values over 256 characters, and keys starting
    with ``aws:`` in any case, which AWS reserves for its own tags.
    """
    tags = to_arguments("tags", value)
    if len(tags) > _MAX_TAGS:
        raise GlueJobRunParameterError("tags", f"{len(tags)} tags; allowed: at most {_MAX_TAGS}")
    for key, text in tags.items():
        if key.lower().startswith("aws:"):
            raise GlueJobRunParameterError("tags", f"key {key!r} starts with 'aws:', which AWS reserves for itself")
        if len(key) > _MAX_TAG_KEY:
            raise GlueJobRunParameterError("tags", f"key {key[:40]!r}... is over {_MAX_TAG_KEY} characters")
        if len(text) > _MAX_TAG_VALUE:
            raise GlueJobRunParameterError("tags", f"the value of {key!r} is over {_MAX_TAG_VALUE} characters")
    return tags


def to_role(value: object) -> str:
    """Read ``role``: an IAM role name or role ARN, sent to Glue as it is (no IAM call resolves it)."""
    if not isinstance(value, str):
        raise _type_error("role", "an IAM role name or ARN", value)
    if _ROLE_NAME.fullmatch(value) or _ROLE_ARN.fullmatch(value):
        return value
    raise GlueJobRunParameterError(
        "role",
        f"{value!r} is neither an IAM role name (1-64 letters, digits and _+=,.@-) "
        "nor a role ARN arn:aws:iam::<12-digit account>:role/<name>",
    )


def to_description(value: object) -> str:
    """Read ``description``: text of at most 2048 characters, no control characters but tab and line breaks."""
    if not isinstance(value, str):
        raise _type_error("description", "text", value)
    if len(value) > _MAX_DESCRIPTION:
        raise GlueJobRunParameterError("description", f"has {len(value)} characters; allowed: at most 2048")
    if not _DESCRIPTION.fullmatch(value):
        raise GlueJobRunParameterError("description", "contains a control character other than tab, CR or LF")
    return value


def to_maintenance_window(value: object) -> str:
    """Read ``maintenance_window``: a day and an hour (GMT), e.g. ``"Mon:10"``."""
    if not isinstance(value, str):
        raise _type_error("maintenance_window", "text such as 'Mon:10'", value)
    if not _MAINTENANCE_WINDOW.fullmatch(value):
        raise GlueJobRunParameterError(
            "maintenance_window", f"{value!r} is not Day:Hour; allowed: Sun to Sat, a colon, hour 0 to 23 (e.g. Mon:10)"
        )
    return value


def to_extra_job_fields(value: object) -> dict[str, Any]:
    """Read ``extra_job_fields``: CreateJob members the spec does not model (``JobMode``, ``LogUri``...), as is.

    The members allowed are read from botocore's model, so a member AWS adds later is allowed without a release.
    Refused: a member the spec models (with the parameter to use instead), ``AllocatedCapacity`` (deprecated), any
    other name, ``None`` values, a value whose type does not fit the member, and an enum value outside the enum.
    The rest of a value's shape is left to botocore's own validation when the request is sent.
    """
    fields = _json_object("extra_job_fields", value, "a mapping of CreateJob fields (or JSON text)")
    assert isinstance(fields, Mapping)
    members = create_job_input().members
    allowed = sorted(set(members) - set(MODELLED_FIELDS) - set(_DEPRECATED_FIELDS))
    result: dict[str, Any] = {}
    for key, item in fields.items():
        parameter = f"extra_job_fields.{key}"
        if key in MODELLED_FIELDS:
            raise GlueJobRunParameterError(parameter, f"is set by the spec parameter {MODELLED_FIELDS[key]}; use it")
        if key in _DEPRECATED_FIELDS:
            raise GlueJobRunParameterError(parameter, _DEPRECATED_FIELDS[key])
        if key not in members:
            raise GlueJobRunParameterError(
                "extra_job_fields", f"{key!r} is not a CreateJob field; allowed: {', '.join(allowed)}"
            )
        shape = members[key]
        expected, described = _SHAPE_TYPES.get(shape.type_name, (object, shape.type_name))
        if item is None or not isinstance(item, expected):
            raise _type_error(parameter, described, item)
        if enum := getattr(shape, "enum", None):  # only string shapes have one
            check_choice(parameter, item, tuple(enum))
        result[key] = item
    return result
