"""The combinations of job fields that the Glue API documents as impossible, checked before any AWS call.

Each rule cites the text it comes from: botocore's Glue model (CreateJob's member docs) unless it says otherwise.
A rule is checked only on what the spec itself declares. When it depends on a field the spec leaves to the existing
job (say ``max_capacity`` is declared but ``glue_version`` is not), the rule is skipped rather than guessed: Glue
judges the merged definition when the update is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow_glue_runs._internal.definitions.spec_checks import version_tuple
from airflow_glue_runs._internal.start.request import SHELL_CAPACITIES
from airflow_glue_runs.exceptions import GlueJobRunParameterError

__all__ = ["PYTHON_SHELL_VERSIONS", "check_combinations", "check_creatable"]

PYTHON_SHELL_VERSIONS = ("3", "3.9")
"""PythonVersion of a Python shell job: "3" (Python 3.6) or "3.9" (Glue developer guide, Python shell jobs:
"you can run scripts that are compatible with Python 3.6 or Python 3.9"); Python 2 shells are gone."""
_SPARK = ("glueetl", "gluestreaming")


def _fail(parameter: str, problem: str) -> GlueJobRunParameterError:
    return GlueJobRunParameterError(parameter, problem)


def check_combinations(values: Mapping[str, Any]) -> None:
    """Raise ``GlueJobRunParameterError`` for the first documented impossible combination among declared values.

    :param values: the checked spec values by parameter name (missing or ``None`` = not declared); ``command`` is a
        mapping with ``name``, ``script``, ``python_version`` and ``runtime``.
    """
    command: Mapping[str, Any] | None = values.get("command")
    name = command["name"] if command else None
    version = version_tuple(values.get("glue_version"))
    if name == "pythonshell":
        _check_python_shell(values, command or {})
    _check_sizing(values)
    if name in _SPARK:
        _check_spark_capacity(values.get("max_capacity"), version)
    elif name == "glueray":
        _check_ray(values, command or {}, version)
    if command is not None and command["runtime"] is not None and name != "glueray":
        # JobCommand.Runtime: "In Ray jobs, Runtime is used ... This field is not used in other job types."
        raise _fail("command.runtime", f"is only for glueray (Ray) jobs, and this job's command is {name}")
    _check_worker_type(values.get("worker_type"), name, version)
    if values.get("execution_class") == "FLEX":
        # ExecutionClass: "Only jobs with Glue version 3.0 and above and command type glueetl will be allowed to
        # set ExecutionClass to FLEX."
        if name is not None and name != "glueetl":
            raise _fail("execution_class", f"FLEX is only for glueetl jobs, not {name}; allowed here: STANDARD")
        if version is not None and version < (3, 0):
            raise _fail("execution_class", "FLEX needs glue_version 3.0 or later; allowed here: STANDARD")
    if values.get("maintenance_window") is not None and name is not None and name != "gluestreaming":
        # MaintenanceWindow: "a day of the week and hour for a maintenance window for streaming jobs".
        raise _fail("maintenance_window", f"is only for gluestreaming jobs, and this job's command is {name}")


def _check_sizing(values: Mapping[str, Any]) -> None:
    # MaxCapacity: "Do not set MaxCapacity if using WorkerType and NumberOfWorkers." The two are declared as a pair
    # (this project's rule, as the Amazon provider's hook has it): half a size would depend on the job's other half.
    worker_type, workers = values.get("worker_type"), values.get("number_of_workers")
    if values.get("max_capacity") is not None and (worker_type is not None or workers is not None):
        raise _fail(
            "max_capacity",
            "cannot be declared with worker_type/number_of_workers; "
            "use worker_type + number_of_workers, or max_capacity, not both",
        )
    if worker_type is not None and workers is None:
        raise _fail("number_of_workers", f"is missing; worker_type {worker_type} needs number_of_workers with it")
    if workers is not None and worker_type is None:
        raise _fail("worker_type", "is missing; number_of_workers needs worker_type with it")


def _check_python_shell(values: Mapping[str, Any], command: Mapping[str, Any]) -> None:
    # MaxCapacity: "When you specify a Python shell job (JobCommand.Name="pythonshell"), you can allocate either
    # 0.0625 or 1 DPU. The default is 0.0625 DPU." WorkerType lists no Python shell worker.
    for parameter in ("worker_type", "number_of_workers"):
        if values.get(parameter) is not None:
            raise _fail(
                parameter, "a pythonshell job takes no worker_type or number_of_workers; size it with max_capacity"
            )
    capacity = values.get("max_capacity")
    if capacity is not None and capacity not in SHELL_CAPACITIES:
        raise _fail("max_capacity", f"{capacity:g} DPUs is not allowed for a pythonshell job; allowed: 0.0625 or 1")
    python = command["python_version"]
    if python is not None and python not in PYTHON_SHELL_VERSIONS:
        raise _fail("command.python_version", f"{python!r} is not allowed for a pythonshell job; allowed: 3, 3.9")


def _check_spark_capacity(capacity: float | None, version: tuple[int, int] | None) -> None:
    if capacity is None:
        return
    # MaxCapacity: "For Glue version 2.0+ jobs, you cannot specify a Maximum capacity. Instead, you should specify
    # a Worker type and the Number of workers."
    if version is not None and version >= (2, 0):
        raise _fail(
            "max_capacity",
            "For Glue version 2.0+ jobs, you cannot specify a Maximum capacity; "
            "use worker_type + number_of_workers instead",
        )
    # MaxCapacity: Spark jobs "can allocate from 2 to 100 DPUs ... cannot have a fractional DPU allocation".
    if capacity in SHELL_CAPACITIES:
        raise _fail("max_capacity", f"{capacity:g} DPUs is only for pythonshell jobs; allowed: a whole 2 to 100")


def _check_ray(values: Mapping[str, Any], command: Mapping[str, Any], version: tuple[int, int] | None) -> None:
    # WorkerType: "Accepts the value Z.2X for Ray jobs." JobCommand.Runtime sets the Ray environment.
    # GlueVersion: "Ray jobs should set GlueVersion to 4.0 or greater", so MaxCapacity (refused for 2.0+) is out.
    worker_type = values.get("worker_type")
    if worker_type is not None and worker_type != "Z.2X":
        raise _fail("worker_type", f"{worker_type} is not for glueray jobs; allowed: Z.2X")
    if values.get("max_capacity") is not None:
        raise _fail("max_capacity", "a glueray job is sized by worker_type Z.2X + number_of_workers, not max_capacity")
    if command["runtime"] is None:
        raise _fail("command.runtime", "is missing; a glueray job needs its Ray runtime, e.g. 'Ray2.4'")
    if version is not None and version < (4, 0):
        raise _fail("glue_version", "a glueray job needs Glue 4.0 or later")


def _check_worker_type(worker_type: str | None, name: str | None, version: tuple[int, int] | None) -> None:
    if worker_type == "Z.2X" and name is not None and name != "glueray":
        raise _fail("worker_type", f"Z.2X is only for glueray jobs, not {name}")
    if worker_type == "G.025X":
        # WorkerType: G.025X "is only available for Glue version 3.0 or later streaming jobs."
        if name is not None and name != "gluestreaming":
            raise _fail("worker_type", f"G.025X is only for gluestreaming jobs, not {name}")
        if version is not None and version < (3, 0):
            raise _fail("worker_type", "G.025X needs glue_version 3.0 or later")
    if worker_type in ("G.4X", "G.8X") and version is not None and version < (3, 0):
        # WorkerType: G.4X and G.8X are "available only for Glue version 3.0 or later Spark ETL jobs".
        raise _fail("worker_type", f"{worker_type} needs glue_version 3.0 or later")


def check_creatable(values: Mapping[str, Any], *, script_location: str | None) -> None:
    """Raise ``GlueJobRunParameterError`` when the spec lacks something CreateJob needs.

    CreateJob's model requires ``Role`` and ``Command``. It does not mark ``Command.ScriptLocation`` required, but
    Glue refuses a job without one ("Script location cannot be null or empty for glueetl command",
    InvalidInputException, quoted in awsdocs/aws-cloudformation-user-guide#903); a local path must have been
    uploaded first. A glueray job needs its Z.2X workers declared (WorkerType doc).
    """
    if values.get("role") is None:
        raise _fail("role", "is required to create the job; declare the IAM role name or ARN")
    command: Mapping[str, Any] | None = values.get("command")
    if command is None:
        raise _fail("command", "is required to create the job; declare at least its script")
    script = script_location or command["script"]
    if script is None:
        raise _fail("command.script", "is required to create the job; declare a local path or an s3:// URI")
    if not script.startswith("s3://"):
        raise _fail("command.script", f"{script!r} is a local path; upload it and pass the S3 URI as script_location")
    if command["name"] == "glueray" and values.get("worker_type") is None:
        raise _fail("worker_type", "is required to create a glueray job; declare Z.2X with number_of_workers")
