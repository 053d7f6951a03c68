"""``GlueJobDefinitionOperator``: its own task, before the run task, that makes a Glue job match a declared spec."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_glue_runs._internal.definitions.reconcile import (
    ON_ACTIVE_RUNS,
    JobReconciler,
    ReconcileOptions,
    local_script,
)
from airflow_glue_runs._internal.definitions.spec import SPEC_FIELDS, build_job_spec
from airflow_glue_runs._internal.masking import Redactor
from airflow_glue_runs._internal.run.secrets import scrubbed
from airflow_glue_runs._internal.start.arguments import (
    check_secret_arguments,
    prepare_arguments,
    register_secrets,
    secret_name_rule,
)
from airflow_glue_runs._internal.start.options import check_botocore_config, check_flag, check_seconds
from airflow_glue_runs._internal.start.request import check_choice
from airflow_glue_runs.links import JOB_LINK_XCOM_KEY, GlueJobLink

if TYPE_CHECKING:
    import jinja2
    from airflow.sdk import Context

    from airflow_glue_runs.hooks import GlueJobRunHook

__all__ = ["GlueJobDefinitionOperator"]

_ARGUMENT_FIELDS = ("default_arguments", "non_overridable_arguments")


class GlueJobDefinitionOperator(BaseOperator):
    """Make an AWS Glue job match a declared spec, and report what changed; place it before the run task.

    Creates the job (with its tags) when it is missing. Otherwise updates **only the declared fields**: UpdateJob
    overwrites a whole definition, so the task sends the current one overlaid with the spec, and a field set
    elsewhere (console, Terraform) that the spec leaves out survives. Glue's own defaults, a role name against its
    ARN and the Python version are filled in before comparing, so an unchanged spec makes no write call at all.
    After an update the job is read back and the declared fields checked. Tags come last: added and changed as
    declared, others removed only with ``purge_tags``, ``aws:`` tags never.

    Returns (XCom ``return_value``) ``{"job_name", "action": "created" | "updated" | "unchanged", "dry_run",
    "changes": [{"field", "old", "new"}], "script_location", "active_runs"}``; the task log has one
    ``field: old -> new`` line per change. Secret job-argument values are ``***`` in both.

    Spec parameters (all templated; ``None`` = not declared, left as the job has it). Checked after rendering and
    before any AWS call; rendered text is read as a number or boolean where the field is one, and
    ``glue_version`` stays text:

    :param job_name: the Glue job.
    :param role: the job's IAM role, name or ARN (sent as is: no IAM call).
    :param command: ``{"name": "glueetl" | "pythonshell" | "gluestreaming" | "glueray", "script": <local path
        or s3:// URI>, "python_version": ..., "runtime": ...}`` (CreateJob's PascalCase keys are accepted too).
        A local path is relative to the DAG file's folder; it is uploaded to
        ``s3://{script_bucket}/{script_prefix}/{job}/{sha256[:16]}/{file name}`` unless there already, never
        overwritten, so ScriptLocation changes exactly when the script does. An ``s3://`` script must exist.
    :param glue_version: e.g. ``"4.0"``.
    :param worker_type: ``Standard``, ``G.1X``, ``G.2X``, ``G.025X``, ``G.4X``, ``G.8X`` or ``Z.2X``, with
        ``number_of_workers``; or ``max_capacity`` (Python shell: 0.0625 or 1), never both.
    :param number_of_workers: workers of ``worker_type``.
    :param max_capacity: DPUs of a job without ``worker_type`` (not allowed for Spark jobs on Glue 2.0+).
    :param timeout: minutes.
    :param max_retries: Glue's retries of a failed run.
    :param max_concurrent_runs: ``ExecutionProperty.MaxConcurrentRuns``.
    :param default_arguments: the job's DefaultArguments (dict, JSON or ``--k=v,...`` text), values converted
        like run arguments. A declared mapping replaces the job's whole mapping.
    :param non_overridable_arguments: the job's NonOverridableArguments, the same way.
    :param connections: Glue connection names.
    :param security_configuration: a Glue security configuration name.
    :param notify_delay_after: minutes before Glue sends a run-delay notification.
    :param execution_class: ``STANDARD`` or ``FLEX``.
    :param job_run_queuing_enabled: let Glue queue runs (WAITING) at the job's or account's limit.
    :param maintenance_window: for streaming jobs, e.g. ``"Sun:3"``.
    :param description: the job's description.
    :param tags: tags to add or change (``aws:`` keys refused).
    :param extra_job_fields: other CreateJob fields in the API's PascalCase (``JobMode``, ``LogUri``,
        ``CodeGenConfigurationNodes``, ``SourceControlDetails``), passed through.

    Settings:

    :param script_bucket: the S3 bucket for a local script. Templated.
    :param script_prefix: the key prefix for a local script (default ``airflow-glue-runs/scripts``). Templated.
    :param secret_arguments: argument names whose values are secret whatever they are called; names that look
        sensitive under Airflow's rules are secret anyway. Masked in the diff, the log, rendered fields and XCom.
    :param purge_tags: remove the job's tags the spec does not list (never ``aws:`` tags). Default ``False``.
    :param on_active_runs: when the job must be updated while it has active runs: ``"update"`` (default: update
        and name them in the log; a run keeps what it started with), ``"wait"`` (until none is active, reading
        every ``poll_interval``) or ``"fail"``.
    :param dry_run: log the diff and return it, write nothing (no upload, CreateJob, UpdateJob or tag call).
    :param poll_interval: seconds between two reads of the active runs when ``on_active_runs="wait"``.
    :param aws_conn_id: the Airflow AWS connection.
    :param region_name: the AWS Region; defaults to the connection's.
    :param verify: whether or how to verify TLS certificates.
    :param botocore_config: botocore ``Config`` options as a dict.
    """

    template_fields: Sequence[str] = ("job_name", *SPEC_FIELDS, "script_bucket", "script_prefix")
    template_fields_renderers = {
        "command": "json",
        "default_arguments": "json",
        "non_overridable_arguments": "json",
        "tags": "json",
        "extra_job_fields": "json",
    }
    operator_extra_links = (GlueJobLink(),)
    ui_color = "#e4f0e8"

    def __init__(
        self,
        *,
        job_name: str,
        role: str | None = None,
        command: Mapping[str, Any] | str | None = None,
        glue_version: str | None = None,
        worker_type: str | None = None,
        number_of_workers: int | str | None = None,
        max_capacity: float | str | None = None,
        timeout: int | str | None = None,
        max_retries: int | str | None = None,
        max_concurrent_runs: int | str | None = None,
        default_arguments: Mapping[str, Any] | str | None = None,
        non_overridable_arguments: Mapping[str, Any] | str | None = None,
        connections: Sequence[str] | str | None = None,
        security_configuration: str | None = None,
        notify_delay_after: int | str | None = None,
        execution_class: str | None = None,
        job_run_queuing_enabled: bool | str | None = None,
        maintenance_window: str | None = None,
        description: str | None = None,
        tags: Mapping[str, Any] | str | None = None,
        extra_job_fields: Mapping[str, Any] | str | None = None,
        script_bucket: str | None = None,
        script_prefix: str = "airflow-glue-runs/scripts",
        secret_arguments: Collection[str] = (),
        purge_tags: bool = False,
        on_active_runs: str = "update",
        dry_run: bool = False,
        poll_interval: float | timedelta = 30,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_name = job_name
        self.role = role
        self.command = command
        self.glue_version = glue_version
        self.worker_type = worker_type
        self.number_of_workers = number_of_workers
        self.max_capacity = max_capacity
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_concurrent_runs = max_concurrent_runs
        self.default_arguments = default_arguments
        self.non_overridable_arguments = non_overridable_arguments
        self.connections = connections
        self.security_configuration = security_configuration
        self.notify_delay_after = notify_delay_after
        self.execution_class = execution_class
        self.job_run_queuing_enabled = job_run_queuing_enabled
        self.maintenance_window = maintenance_window
        self.description = description
        self.tags = tags
        self.extra_job_fields = extra_job_fields
        self.script_bucket = script_bucket
        self.script_prefix = script_prefix
        self.secret_arguments = check_secret_arguments(secret_arguments)
        self.purge_tags = check_flag("purge_tags", purge_tags)
        self.on_active_runs = check_choice("on_active_runs", on_active_runs, ON_ACTIVE_RUNS)
        self.definition_dry_run = check_flag("dry_run", dry_run)  # BaseOperator.dry_run() is a method
        self.poll_interval = check_seconds("poll_interval", poll_interval, allow_zero=False) or 0.0
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.verify = verify
        self.botocore_config = check_botocore_config(botocore_config)
        self._arguments: dict[str, Any] = {}
        self._secret_values: list[str] = []

    @cached_property
    def hook(self) -> GlueJobRunHook:
        """The hook on the task's connection."""
        from airflow_glue_runs.hooks import GlueJobRunHook

        return GlueJobRunHook(
            aws_conn_id=self.aws_conn_id, region_name=self.region_name, verify=self.verify, config=self.botocore_config
        )

    def _do_render_template_fields(
        self,
        parent: Any,
        template_fields: Any,
        context: Context,
        jinja_env: jinja2.Environment,
        seen_oids: set[int],
    ) -> None:
        """Render as usual, then keep the job arguments for :meth:`execute` and show them with secrets masked."""
        super()._do_render_template_fields(parent, template_fields, context, jinja_env, seen_oids)
        if parent is self:
            for field in _ARGUMENT_FIELDS:
                self._take_arguments(field)

    def _take_arguments(self, field: str) -> Any:
        """Parse a rendered argument mapping once: register its secret values, keep it, show it masked."""
        if field not in self._arguments:
            raw = getattr(self, field)
            if raw is None:
                return None
            prepared = prepare_arguments(raw, self.secret_arguments, parameter=field)
            register_secrets(prepared)
            self._secret_values.extend(prepared.secret_values)
            self._arguments[field] = dict(prepared.values)
            setattr(self, field, prepared.masked())
        return self._arguments[field]

    def execute(self, context: Context) -> dict[str, Any]:
        """Check the spec, make the job match it (or show the diff on a dry run), return what was done."""
        values = {field: getattr(self, field) for field in SPEC_FIELDS}
        values.update({field: self._take_arguments(field) for field in _ARGUMENT_FIELDS})
        spec = build_job_spec(self.job_name, values)
        options = ReconcileOptions(
            script_bucket=self.script_bucket,
            script_prefix=self.script_prefix,
            script_root=self._dag_folder(),
            dry_run=self.definition_dry_run,
            purge_tags=self.purge_tags,
            on_active_runs=self.on_active_runs,
            poll_interval=self.poll_interval,
            secret=secret_name_rule(self.secret_arguments),
        )
        local_script(spec, options)  # a missing file or bucket fails here, before any AWS call
        if self.do_xcom_push:
            target = {"region_name": self.hook.conn_region_name, "job_name": spec.job_name}
            context["ti"].xcom_push(key=JOB_LINK_XCOM_KEY, value=target)
        redactor = Redactor(self._secret_values)
        with scrubbed(lambda: redactor):
            result = JobReconciler(self.hook, spec, options, self.log).run()
        if not result.changes:
            self.log.info("Glue job %s: unchanged.", spec.job_name)
        return result.to_xcom()

    def _dag_folder(self) -> Path | None:
        try:
            fileloc = getattr(self.dag, "fileloc", None)
        except RuntimeError:  # not assigned to a DAG (a task built in a test)
            return None
        return Path(fileloc).parent if fileloc else None
