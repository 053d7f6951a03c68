"""The Amazon provider's job-definition parameters, run through this provider's definition reconcile.

``script_location``, ``s3_bucket``, ``iam_role_name``/``iam_role_arn``, ``create_job_kwargs``, ``job_desc``,
``concurrent_run_limit``, ``retry_limit``, ``num_of_dpus``, ``update_config`` and ``replace_script_file`` keep the
Amazon provider's meaning, on :class:`~airflow_glue_runs._internal.definitions.reconcile.JobReconciler`:

- nothing is read or written when the DAG gives none of them;
- a missing job is created as the Amazon provider creates it, its defaults explicit and logged: one concurrent run,
  no retries, the description "AWS Glue Job with Airflow", ``glueetl`` with the script, and 10 DPUs unless workers
  (or a capacity) are given; except that 10 DPUs are not sent where AWS refuses a MaxCapacity (Glue 2.0+ Spark jobs,
  Python shell jobs: Glue's own default applies) and no ``LogUri`` is sent (AWS: "reserved for future use");
- an existing job is changed only with ``update_config=True``, and then only in the fields the DAG gives (the
  defaults above are not re-applied); with ``update_config=False`` nothing is written or uploaded;
- a local script goes to ``s3://{s3_bucket}/artifacts/glue-scripts/{job}/{sha256[:16]}/{file}``: a second run finds
  it there, and two jobs' scripts never share a key (``replace_script_file`` changes nothing).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_glue_runs._internal.amazon.parameters import ANCHOR_DESCRIPTION
from airflow_glue_runs._internal.compat import mask_secret
from airflow_glue_runs._internal.definitions.reconcile import (
    DefinitionResult,
    JobReconciler,
    ReconcileOptions,
    local_script,
)
from airflow_glue_runs._internal.definitions.spec import JobSpec, build_job_spec
from airflow_glue_runs._internal.definitions.spec_checks import MODELLED_FIELDS, version_tuple
from airflow_glue_runs._internal.masking import Redactor
from airflow_glue_runs._internal.run.secrets import scrubbed
from airflow_glue_runs._internal.start.arguments import secret_name_rule
from airflow_glue_runs.exceptions import GlueJobRunParameterError

if TYPE_CHECKING:
    from airflow_glue_runs.hooks import GlueJobRunHook

__all__ = ["SCRIPT_PREFIX", "AmazonJobDefinition"]

SCRIPT_PREFIX = "artifacts/glue-scripts"
"""Where the Amazon provider puts a local script in ``s3_bucket``; kept as the prefix so users find it."""
ANCHOR_DPUS = 10.0
"""The Amazon provider's ``num_of_dpus`` default at creation."""

_NESTED = {"ExecutionProperty": "MaxConcurrentRuns", "NotificationProperty": "NotifyDelayAfter"}
_AMAZON_NAMES = {
    "role": "iam_role_name",
    "command": "script_location",
    "command.script": "script_location",
    "script_bucket": "s3_bucket",
    "description": "job_desc",
    "max_concurrent_runs": "concurrent_run_limit",
    "max_retries": "retry_limit",
}
"""Spec parameter -> the Amazon parameter a user wrote, for errors (the rest are ``create_job_kwargs.<Field>``)."""
_DEFINITION_PARAMETERS = (
    "script_location", "iam_role_name", "iam_role_arn", "create_job_kwargs", "job_desc", "concurrent_run_limit",
    "retry_limit", "num_of_dpus",
)  # fmt: skip
"""The job-definition parameters that declare something (``s3_bucket`` alone only says where a script goes)."""
_SPEC_TO_API = {param: api for api, param in MODELLED_FIELDS.items()}
_T = TypeVar("_T")


@dataclasses.dataclass(frozen=True)
class AmazonJobDefinition:
    """The rendered job-definition parameters of one task (``None`` = not given)."""

    job_name: str
    script_location: str | None = None
    s3_bucket: str | None = None
    iam_role_name: str | None = None
    iam_role_arn: str | None = None
    create_job_kwargs: Mapping[str, Any] | None = None
    job_desc: str | None = None
    concurrent_run_limit: int | None = None
    retry_limit: int | None = None
    num_of_dpus: float | None = None
    update_config: bool = False
    replace_script_file: bool = False

    def given(self) -> list[str]:
        """Return the names of the job-definition parameters the DAG gives."""
        names = _DEFINITION_PARAMETERS
        return [name for name in names if getattr(self, name) is not None]

    def declared_values(self) -> dict[str, Any]:
        """Return the spec values of what the DAG gives (the fields an update may change)."""
        kwargs = dict(self.create_job_kwargs or {})
        values: dict[str, Any] = {}
        if self.iam_role_arn or self.iam_role_name:
            values["role"] = self.iam_role_arn or self.iam_role_name
        command = kwargs.pop("Command", None)
        if command is not None and self.script_location is not None and isinstance(command, Mapping):
            command = {"ScriptLocation": self.script_location, **command}  # the Amazon provider: Command wins
        elif command is None and self.script_location is not None:
            command = {"Name": "glueetl", "ScriptLocation": self.script_location}
        values["command"] = command
        # The Amazon provider builds the config as these parameters, then **create_job_kwargs over them.
        values["description"] = self.job_desc
        values["max_concurrent_runs"] = self.concurrent_run_limit
        values["max_retries"] = self.retry_limit
        values["max_capacity"] = self.num_of_dpus
        extra: dict[str, Any] = {}
        for key, item in kwargs.items():
            param = MODELLED_FIELDS.get(key)
            if param is None or param == "job_name":
                extra[key] = item
            elif key in _NESTED and isinstance(item, Mapping) and set(item) <= {_NESTED[key]}:
                values[param] = item.get(_NESTED[key])
            elif key == "Connections" and isinstance(item, Mapping) and set(item) <= {"Connections"}:
                values[param] = item.get("Connections")
            else:
                values[param] = item
        values["extra_job_fields"] = extra or None
        return {param: value for param, value in values.items() if value is not None}

    def creation_values(self, declared: JobSpec) -> tuple[dict[str, Any], list[str]]:
        """Return the spec values to create the job with (the DAG's plus the Amazon provider's defaults) and notes.

        :param declared: the checked spec of what the DAG gives, to size the job as Glue allows.
        """
        values = self.declared_values()
        notes: list[str] = []
        defaults = {"description": ANCHOR_DESCRIPTION, "max_concurrent_runs": 1, "max_retries": 0}
        for param, value in defaults.items():
            if param not in values:
                values[param] = value
                notes.append(f"{_SPEC_TO_API[param]} = {value!r} (the Amazon provider's default)")
        if not {"worker_type", "number_of_workers", "max_capacity"} & set(values):
            name = declared.command.name if declared.command is not None else "glueetl"
            version = version_tuple(declared.glue_version)
            if name == "pythonshell":
                notes.append("MaxCapacity not sent: a pythonshell job takes 0.0625 or 1 DPU (Glue's default: 0.0625)")
            elif name != "glueray" and (version is None or version < (2, 0)):
                values["max_capacity"] = ANCHOR_DPUS
                notes.append(f"MaxCapacity = {ANCHOR_DPUS:g} (the Amazon provider's default)")
            else:
                notes.append(
                    "MaxCapacity not sent: AWS refuses it for Glue 2.0+ jobs (the Amazon provider's 10 DPUs); "
                    "Glue sizes the job by its own default unless create_job_kwargs gives WorkerType and "
                    "NumberOfWorkers"
                )
        if self.s3_bucket is not None and "LogUri" not in values.get("extra_job_fields", {}):
            notes.append("LogUri not sent: AWS documents it as reserved for future use (it has no effect)")
        return values, notes

    def run(
        self,
        hook: GlueJobRunHook,
        log: Any,
        *,
        secret_arguments: tuple[str, ...],
        dag_folder: Path | None,
    ) -> DefinitionResult | None:
        """Create the job when missing, update it when ``update_config`` allows; ``None`` when nothing is done.

        Every value is checked before the first AWS call (GetJob); an error names the Amazon parameter.
        """
        if not self.given():
            return None
        declared = _spec(self.job_name, self.declared_values())
        creation_values, notes = self.creation_values(declared)
        creation = _spec(self.job_name, creation_values)
        options = ReconcileOptions(
            script_bucket=self.s3_bucket,
            script_prefix=SCRIPT_PREFIX,
            script_root=_script_root(declared, dag_folder),
            secret=secret_name_rule(secret_arguments),
        )
        _translated(lambda: local_script(declared, options))
        if self.replace_script_file:
            log.info(
                "replace_script_file=True has no effect: a local script goes to a key holding its SHA-256, so a "
                "changed script gets a new key and an unchanged one is not uploaded again."
            )
        if hook.find_job(self.job_name) is not None:
            if not self.update_config:
                log.info(
                    "Glue job %s exists; update_config=False leaves its definition as it is (%s not applied).",
                    self.job_name,
                    ", ".join(self.given()),
                )
                return None
            spec = declared
        else:
            spec = creation
            _translated(lambda: creation.create_request("s3://placeholder/script" if options.script_bucket else None))
            log.info("Glue job %s is missing; creating it with the Amazon provider's defaults:", spec.job_name)
            for note in notes:
                log.info("  %s", note)
        redactor = Redactor(_secret_values(spec, options.secret))
        with scrubbed(lambda: redactor):
            return JobReconciler(hook, spec, options, log).run()


def _spec(job_name: str, values: Mapping[str, Any]) -> JobSpec:
    return _translated(lambda: build_job_spec(job_name, values))


def _translated(call: Callable[[], _T]) -> _T:
    """Run ``call``; re-raise a parameter error under the Amazon parameter's name."""
    try:
        return call()
    except GlueJobRunParameterError as error:
        raise GlueJobRunParameterError(amazon_name(error.parameter), error.problem) from None


def amazon_name(parameter: str) -> str:
    """Return the Amazon parameter a spec parameter (``max_capacity``, ``extra_job_fields.LogUri``) came from."""
    if parameter in _AMAZON_NAMES:
        return _AMAZON_NAMES[parameter]
    if parameter == "max_capacity":
        return "num_of_dpus (or create_job_kwargs.MaxCapacity)"
    head, _, rest = parameter.partition(".")
    if head == "extra_job_fields":
        return f"create_job_kwargs.{rest}" if rest else "create_job_kwargs"
    if head in _SPEC_TO_API:
        return f"create_job_kwargs.{_SPEC_TO_API[head]}" + (f".{rest}" if rest else "")
    return parameter


def _script_root(spec: JobSpec, dag_folder: Path | None) -> Path | None:
    """The folder a relative local script is read from: the working directory (as Amazon's), else the DAG's."""
    script = spec.command.script if spec.command is not None else None
    if script is None or spec.command is None or spec.command.script_is_s3 or Path(script).is_absolute():
        return None
    return None if Path(script).is_file() else dag_folder


def _secret_values(spec: JobSpec, secret: Callable[[str], bool]) -> list[str]:
    """Register the secret values of the job's arguments with Airflow's masker and return them."""
    values: list[str] = []
    for arguments in (spec.default_arguments, spec.non_overridable_arguments):
        for key, value in (arguments or {}).items():
            if value and secret(key):
                mask_secret(value)
                values.append(value)
    return values
