"""Glue's job definitions as the local Glue plays them: CreateJob, UpdateJob, DeleteJob, job tags, the control API.

A job definition is a dict of Glue's field names (the members of ``JobUpdate``, which CreateJob takes too). It is
checked, filled in as Glue does, and stored on a job object of ``_moto.local_job_class()`` (moto's job, which
also reports the fields moto has no attribute for); moto's backends come from ``_moto`` and this module imports
no moto itself. What differs from moto:

- CreateJob on an existing name raises AlreadyExistsException and changes nothing (moto replaces the job and
  drops its runs). The control API's ``create_job`` does replace a job, with its runs and tags.
- UpdateJob (missing in moto) overwrites the whole definition: a field ``JobUpdate`` leaves out is unset again,
  then filled in as below. Name, CreatedOn, runs and tags stay; LastModifiedOn moves (by 1 ms at least).
- CreateJob and UpdateJob raise InvalidInputException for WorkerType with MaxCapacity, only one of WorkerType
  and NumberOfWorkers, AllocatedCapacity with MaxCapacity, an unknown WorkerType, a Timeout below 1.
- DeleteJob drops the job's tags (moto keeps them); GetTags, TagResource and UntagResource on the ARN of a job
  that does not exist (or with another account or region) raise EntityNotFoundException (moto answers ``{}``).

What the local Glue fills in when a definition leaves a field unset, so GetJob (and every run) reports it as AWS
does:

- ``Timeout``: 2880 minutes for GlueVersion 4.0 and older or unset, 480 from 5.0 on (``_default_timeout``).
- ``MaxRetries``: 0.
- ``ExecutionProperty.MaxConcurrentRuns``: 1.
- ``ExecutionClass``: STANDARD (moto's default too).
- ``Command.PythonVersion``: "3" for glueetl and gluestreaming, "3.9" for pythonshell; none for glueray.
- ``MaxCapacity`` of a WorkerType job: NumberOfWorkers x the worker's DPUs (Standard 1, G.025X 0.25, G.1X 1,
  G.2X 2, G.4X 4, G.8X 8, Z.2X 2).

Nothing else is filled in (no MaxCapacity or AllocatedCapacity for a job without a WorkerType, no JobMode).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from airflow_glue_runs.local_glue._moto import glue_backends, job_attributes, job_named, local_job_class, utcnow
from airflow_glue_runs.local_glue._rules import _DPU_PER_WORKER, _WORKER_TYPES, _default_timeout, _GlueError

_DPUS = {"Standard": 1.0, **_DPU_PER_WORKER}
_PYTHON_VERSIONS = {"glueetl": "3", "gluestreaming": "3", "pythonshell": "3.9"}
_JOB_ARN = re.compile(r"arn:[\w-]+:glue:[^:]*:[^:]*:job/(?P<name>.+)")
TAG_OPERATIONS = ("GetTags", "TagResource", "UntagResource")


@cache
def definition_fields() -> tuple[str, ...]:
    """Return the field names of a job definition: the members of Glue's ``JobUpdate``."""
    import botocore.session

    shape: Any = botocore.session.get_session().get_service_model("glue").shape_for("JobUpdate")
    return tuple(shape.members)


def attribute_name(field: str) -> str:
    """Return the snake_case attribute name of a definition field (``LogUri`` -> ``log_uri``)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", field).lower()


def definition_of(request: Mapping[str, Any]) -> dict[str, Any]:
    """Return the job definition of a CreateJob request or an UpdateJob ``JobUpdate`` (other keys dropped)."""
    return {field: request[field] for field in definition_fields() if request.get(field) is not None}


def check_definition(definition: Mapping[str, Any]) -> None:
    """Reject what Glue rejects in a job definition, as InvalidInputException.

    :param definition: the definition, Glue's field names.
    """
    problems = []
    worker_type, workers = definition.get("WorkerType"), definition.get("NumberOfWorkers")
    if definition.get("AllocatedCapacity") and definition.get("MaxCapacity"):
        problems.append("Please set only Allocated Capacity or Max Capacity")
    if worker_type is not None and definition.get("MaxCapacity") is not None:
        problems.append("Please do not set Max Capacity if using Worker Type and Number of Workers")
    if (worker_type is None) != (workers is None):
        problems.append("Please set both Worker Type and Number of Workers, or neither")
    if worker_type is not None and worker_type not in _WORKER_TYPES:
        problems.append(f"WorkerType must be one of {', '.join(_WORKER_TYPES)}")
    if definition.get("Timeout") is not None and definition["Timeout"] < 1:
        problems.append("Timeout must be at least 1 minute")
    if problems:
        raise _GlueError("InvalidInputException", "; ".join(problems))


def filled(definition: Mapping[str, Any]) -> dict[str, Any]:
    """Return the definition with the values Glue fills in where it leaves them unset (see the module docstring).

    :param definition: a checked definition, Glue's field names.
    """
    job = dict(definition)
    if job.get("Timeout") is None:
        job["Timeout"] = _default_timeout(job.get("GlueVersion"))
    if job.get("MaxRetries") is None:
        job["MaxRetries"] = 0
    job["ExecutionProperty"] = {"MaxConcurrentRuns": 1, **(job.get("ExecutionProperty") or {})}
    job["ExecutionClass"] = job.get("ExecutionClass") or "STANDARD"
    command = dict(job.get("Command") or {})
    if command.get("PythonVersion") is None and command.get("Name") in _PYTHON_VERSIONS:
        command["PythonVersion"] = _PYTHON_VERSIONS[command["Name"]]
    job["Command"] = command
    if job.get("WorkerType") in _DPUS and job.get("NumberOfWorkers") and job.get("MaxCapacity") is None:
        job["MaxCapacity"] = _DPUS[job["WorkerType"]] * job["NumberOfWorkers"]
    return job


def job_name_of_arn(arn: object) -> str | None:
    """Return the job name of a Glue job ARN, or None for another resource's ARN."""
    match = _JOB_ARN.fullmatch(arn) if isinstance(arn, str) else None
    return match.group("name") if match else None


# The Glue operations.


def create_job(account: str, region: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """Create a job as CreateJob does; an existing name raises AlreadyExistsException and changes nothing."""
    name = body.get("Name")
    backend = glue_backends()[account][region]
    if not isinstance(name, str) or not name:
        raise _GlueError("InvalidInputException", "Name must be a non-empty string")
    if name in backend.jobs:
        raise _GlueError("AlreadyExistsException", f"Job {name} already exists.")
    definition = definition_of(body)
    check_definition(definition)
    _define(backend, name, definition, body.get("Tags") or {})
    return {"Name": name}


def update_job(account: str, region: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """Overwrite a job's definition with ``JobUpdate`` as UpdateJob does; a missing job is EntityNotFoundException."""
    job = job_named(glue_backends()[account][region], body.get("JobName"))
    definition = definition_of(body.get("JobUpdate") or {})
    check_definition(definition)
    attributes, extra = _split(filled(definition))
    for attribute, value in attributes.items():
        setattr(job, attribute, value)
    job.default_arguments = job.default_arguments or {}  # as moto's job keeps it
    job.extra = extra
    # Strictly later than before, whatever the clock's resolution: a client can tell that an update happened.
    job.last_modified_on = max(utcnow(), job.last_modified_on + datetime.timedelta(milliseconds=1))
    return {"JobName": job.name}


def delete_job(account: str, region: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """Delete a job with its runs and tags, as DeleteJob does; a missing job is no error."""
    name = body.get("JobName")
    if isinstance(name, str):
        _drop(glue_backends()[account][region], name)
    return {"JobName": name}


def check_tagged_job(account: str, region: str, body: Mapping[str, Any]) -> None:
    """Raise EntityNotFoundException when a tag request's ARN names a job that does not exist (other ARNs pass).

    The ARN must be the job's own, account and region included: moto keys tags by the ARN's text.
    """
    arn = body.get("ResourceArn")
    name = job_name_of_arn(arn)
    if name is not None:
        job = glue_backends()[account][region].jobs.get(name)
        if job is None or job.arn != arn:
            raise _GlueError("EntityNotFoundException", f"Entity not found: {arn}")


def control_create_job(account: str, region: str, name: str, definition: Mapping[str, Any]) -> None:
    """Create a job for the control API, replacing a job of that name with its runs and tags.

    :raises ValueError: for a definition Glue would reject.
    """
    try:
        check_definition(definition)
    except _GlueError as error:
        raise ValueError(error.message) from None
    backend = glue_backends()[account][region]
    _drop(backend, name)
    _define(backend, name, definition, {})


def _define(backend: Any, name: str, definition: Mapping[str, Any], tags: Mapping[str, str]) -> None:
    attributes, extra = _split(filled(definition))
    job = local_job_class()(name=name, tags=dict(tags), backend=backend, **attributes)
    job.extra = extra
    backend.jobs[name] = job


def _drop(backend: Any, name: str) -> None:
    job = backend.jobs.pop(name, None)
    if job is not None:
        backend.tagger.delete_all_tags_for_resource(job.arn)


def _split(definition: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a definition into moto's job attributes (all of them, None where unset) and the other fields."""
    attributes: dict[str, Any] = dict.fromkeys(job_attributes())
    extra = {}
    for field, value in definition.items():
        if attribute_name(field) in attributes:
            attributes[attribute_name(field)] = value
        else:
            extra[field] = value
    return attributes, extra
