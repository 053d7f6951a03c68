"""``GlueJobRunOperator``: start one Glue job run, wait for it, and end the task with the truth about the run.

``GlueJobDefinitionOperator`` (the job-definition step, docs: job-definitions.md) is importable from here too.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import timedelta
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any, Literal

from airflow.sdk import BaseOperator

from airflow_glue_runs._internal.compat import default_deferrable
from airflow_glue_runs._internal.definitions.operator import GlueJobDefinitionOperator
from airflow_glue_runs._internal.glue_logs.forwarding import WorkerLogForwarder
from airflow_glue_runs._internal.glue_logs.locations import ForwardLogs, check_forward_logs
from airflow_glue_runs._internal.lineage.listener import GlueRunLineage
from airflow_glue_runs._internal.lineage.openlineage import LineageSource, inject_openlineage, optional_flag
from airflow_glue_runs._internal.masking import Redactor
from airflow_glue_runs._internal.results.location import (
    ask_for_result,
    check_job_result,
    check_result_options,
    uri_of_run,
)
from airflow_glue_runs._internal.results.task import JOB_RESULT_XCOM_KEY
from airflow_glue_runs._internal.run.operator_wait import OperatorWait
from airflow_glue_runs._internal.run.report import RunReport
from airflow_glue_runs._internal.run.secrets import RedactingLogger, TaskSecrets, scrubbed
from airflow_glue_runs._internal.run.summary import RUN_ID_XCOM_KEY, SUMMARY_XCOM_KEY
from airflow_glue_runs._internal.run.waiting import (
    DEFAULT_RUN_TIMEOUT_MINUTES,
    DEFERRAL_MARGIN,
    Resolution,
    WaitResult,
    WaitUntil,
    deferral_timeout,
    raise_for_result,
)
from airflow_glue_runs._internal.start.acquisition import RunAcquisition, StartProgress
from airflow_glue_runs._internal.start.arguments import (
    JobArguments,
    check_secret_arguments,
)
from airflow_glue_runs._internal.start.ledger import RunIdentity, RunLedger
from airflow_glue_runs._internal.start.options import (
    RUN_OPTION_FIELDS,
    check_botocore_config,
    check_flag,
    check_seconds,
    check_wait_until,
)
from airflow_glue_runs._internal.start.task_request import TaskRequest
from airflow_glue_runs.glue_job_result import RESULT_URI_ARGUMENT
from airflow_glue_runs.job_run import JobRun
from airflow_glue_runs.links import LINK_XCOM_KEY, GlueJobRunLink

if TYPE_CHECKING:
    import jinja2
    from airflow.sdk import Context

    from airflow_glue_runs.hooks import GlueJobRunHook

__all__ = [
    "DEFAULT_RUN_TIMEOUT_MINUTES",
    "DEFERRAL_MARGIN",
    "JOB_RESULT_XCOM_KEY",
    "LINK_XCOM_KEY",
    "RUN_ID_XCOM_KEY",
    "SUMMARY_XCOM_KEY",
    "GlueJobDefinitionOperator",
    "GlueJobRunOperator",
    "deferral_timeout",
]


class GlueJobRunOperator(OperatorWait, GlueRunLineage, BaseOperator):
    """Start one AWS Glue job run with arguments rendered from the DAG context, and wait for it.

    The task succeeds with the run id (or, with ``return_job_result``, the job result) as its return value when the
    run SUCCEEDED. Otherwise it raises the
    exception for how the run ended, whose message names the job, the run id, the state, Glue's ErrorMessage
    or StateDetail, and the console link: :class:`~airflow_glue_runs.exceptions.GlueJobRunFailedError`
    (FAILED, ERROR), its subclasses ``GlueJobRunStoppedError`` (STOPPED) and ``GlueJobRunExpiredError``
    (EXPIRED), ``GlueJobRunTimeoutError`` (TIMEOUT), ``GlueJobRunQueueTimeoutError`` (WAITING longer than
    ``max_queue_wait``; the task stops the run first) and ``GlueJobRunNotFoundError`` (the run vanished).

    XCom (each key at most once per try, across deferral): ``glue_job_run_id`` (the run id, as soon as it is
    known), ``glue_job_run_link`` (what the "Glue job run" extra link needs), ``glue_job_run`` (the summary of
    :func:`~airflow_glue_runs._internal.run.summary.run_summary`, when the run's outcome is known, success or not)
    ``glue_job_result`` (with ``job_result``, when the run wrote one) and the return value. Nothing is pushed when
    ``do_xcom_push=False``.

    **No duplicate runs.** A retry reattaches to the run an earlier try of the same task instance started (waits
    for it while active, adopts its success, starts anew only if it ended badly or is gone); a Clear starts a fresh
    run. See :mod:`airflow_glue_runs._internal.start.ledger` and :mod:`~airflow_glue_runs._internal.start.reattach`.

    :param job_name: the Glue job to run. Templated.
    :param arguments: the run's job arguments: a dict, JSON text, or the AWS CLI's shorthand
        ``--key1=v1,--key2=v2`` (quote values with commas: ``--list="a,b"``). Parsed after Jinja, so an XCom
        pull may return any of these. Values are converted as ``normalize_arguments`` documents (bool to
        ``true``/``false``, numbers to text, dict/list to JSON; ``None`` refused). Names should start with
        ``--``. Templated; shown as JSON with secret values masked.
    :param secret_arguments: names of arguments whose values are secret whatever they are called (with or
        without ``--``). Names that look sensitive under Airflow's rules (``password``, ``token``, ``secret``,
        ``api_key``... and ``[core] sensitive_var_conn_names``) are secret anyway. Secret values are masked in
        logs, the rendered ``arguments`` field and XCom, and a warning says to use Secrets Manager or a Glue
        connection instead.
    :param timeout: the run's Timeout in minutes (1 to 10079). Templated.
    :param worker_type: ``Standard``, ``G.1X``, ``G.2X``, ``G.025X``, ``G.4X``, ``G.8X`` or ``Z.2X``. Templated.
    :param number_of_workers: the number of workers of ``worker_type``. Templated.
    :param max_capacity: DPUs for jobs that do not use ``worker_type``. Templated.
    :param execution_class: ``STANDARD`` or ``FLEX``. Templated.
    :param job_run_queuing_enabled: let Glue queue the run (WAITING) when the job or account is at its limit.
        Templated.
    :param security_configuration: the name of a Glue security configuration. Templated.
    :param notify_delay_after: minutes after which Glue sends a run-delay notification. Templated.
    :param execution_role_session_policy: an IAM policy (JSON text) that narrows the job role for this run.
        Templated.
    :param wait_for_completion: wait for the run to end (default). When ``False`` the task succeeds as soon as
        the run is started or reattached, with its id.
    :param wait_until: ``"end"`` (default) or ``"running"``: succeed once the run is RUNNING (after ``running_for``)
        and leave it running, for ``gluestreaming`` jobs and runs to start and leave. Every other state means what
        it means for ``"end"`` (SUCCEEDED first succeeds). Not with ``job_result``. ``docs/streaming-jobs.md``.
    :param running_for: seconds (or a ``timedelta``) the run must stay RUNNING, by the waiter's clock, before the
        task succeeds; only with ``wait_until="running"``.
    :param deferrable: wait in the triggerer instead of on the worker. Defaults to Airflow's
        ``[operators] default_deferrable``.
    :param poll_interval: seconds between two reads of the run (default 30).
    :param max_queue_wait: seconds (or a ``timedelta``) the run may stay WAITING in Glue's queue before the task
        stops it and fails with ``GlueJobRunQueueTimeoutError``; ``None`` (default) waits as long as Glue keeps it.
    :param forward_logs: copy the run's CloudWatch lines (secrets masked) into the task log as it runs and after it
        ends: ``False`` (default: nothing read), ``True`` (driver ``/output``, ``/error``) or ``"all"`` (executors
        too). Needs ``logs:FilterLogEvents``; log errors never change the outcome. Templated; docs: glue-logs.md.
    :param stop_on_kill: stop the run (BatchStopJobRun) when the task is killed on the worker, times out
        (``execution_timeout``), or is cleared, marked failed or marked success while deferred (default ``True``).
        A run left RUNNING by a task that succeeded (``wait_until="running"``) is never stopped by the task.
    :param aws_conn_id: the Airflow AWS connection.
    :param region_name: the AWS Region; defaults to the connection's.
    :param verify: whether or how to verify TLS certificates (``AwsBaseHook``'s ``verify``).
    :param botocore_config: botocore ``Config`` options as a dict, e.g. ``{"retries": {"max_attempts": 10}}``.
    :param openlineage_inject_parent_job_info: add this task instance's OpenLineage parent and root job to the
        run's ``--conf``, merged with the job's and the user's ``--conf``
        (:mod:`airflow_glue_runs._internal.lineage.openlineage`).
        Defaults, when the task runs, to ``[openlineage] spark_inject_parent_job_info`` (False when unset).
    :param openlineage_inject_transport_info: add the OpenLineage listener's HTTP transport to the run's
        ``--conf`` (its API key is masked in Airflow, but Glue stores it with the run). Defaults, when the task
        runs, to ``[openlineage] spark_inject_transport_info`` (False when unset).
    :param job_result: read the JSON object the job wrote (``glue_job_result.write_result``) once the run ended:
        ``"required"`` (none after SUCCEEDED fails with ``GlueJobRunResultError``), ``"optional"`` (a warning) or
        None (off). docs: job-results.md. With ``wait_for_completion=False`` the URI is only sent (for a sensor).
    :param job_result_prefix: S3 prefix of the result objects (templated); default: the run's or job's ``--TempDir``.
    :param return_job_result: return the job result instead of the run id.

    OpenLineage events of the task carry the run's id, summary and (on failure) Glue's ErrorMessage.
    """

    template_fields: Sequence[str] = ("job_name", "arguments", "forward_logs", "job_result_prefix", *RUN_OPTION_FIELDS)
    template_fields_renderers = {"arguments": "json", "execution_role_session_policy": "json"}
    operator_extra_links = (GlueJobRunLink(),)
    ui_color = "#ededed"

    def __init__(
        self,
        *,
        job_name: str,
        arguments: Mapping[str, Any] | str | None = None,
        secret_arguments: Collection[str] = (),
        timeout: int | str | None = None,
        worker_type: str | None = None,
        number_of_workers: int | str | None = None,
        max_capacity: float | str | None = None,
        execution_class: str | None = None,
        job_run_queuing_enabled: bool | str | None = None,
        security_configuration: str | None = None,
        notify_delay_after: int | str | None = None,
        execution_role_session_policy: str | None = None,
        wait_for_completion: bool = True,
        wait_until: WaitUntil = "end",
        running_for: float | timedelta | None = None,
        deferrable: bool | None = None,
        poll_interval: float | timedelta = 30,
        max_queue_wait: float | timedelta | None = None,
        stop_on_kill: bool = True,
        forward_logs: ForwardLogs = False,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict[str, Any] | None = None,
        openlineage_inject_parent_job_info: bool | None = None,
        openlineage_inject_transport_info: bool | None = None,
        job_result: Literal["required", "optional"] | None = None,
        job_result_prefix: str | None = None,
        return_job_result: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_name = job_name
        self.arguments = arguments
        self.secret_arguments = check_secret_arguments(secret_arguments)
        self.timeout = timeout
        self.worker_type = worker_type
        self.number_of_workers = number_of_workers
        self.max_capacity = max_capacity
        self.execution_class = execution_class
        self.job_run_queuing_enabled = job_run_queuing_enabled
        self.security_configuration = security_configuration
        self.notify_delay_after = notify_delay_after
        self.execution_role_session_policy = execution_role_session_policy
        self.wait_for_completion = check_flag("wait_for_completion", wait_for_completion)
        self.deferrable = default_deferrable() if deferrable is None else check_flag("deferrable", deferrable)
        self.poll_interval = check_seconds("poll_interval", poll_interval, allow_zero=False) or 0.0
        self.max_queue_wait = check_seconds("max_queue_wait", max_queue_wait, allow_none=True, allow_zero=False)
        self.stop_on_kill = check_flag("stop_on_kill", stop_on_kill)
        self.forward_logs = forward_logs  # checked once rendered
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.verify = verify
        self.botocore_config = check_botocore_config(botocore_config)
        self.openlineage_inject_parent_job_info = optional_flag(
            "openlineage_inject_parent_job_info", openlineage_inject_parent_job_info
        )
        self.openlineage_inject_transport_info = optional_flag(
            "openlineage_inject_transport_info", openlineage_inject_transport_info
        )
        self.job_result = check_job_result(job_result)
        self.job_result_prefix = job_result_prefix
        self.return_job_result = check_flag("return_job_result", return_job_result)
        check_result_options(
            self.job_result, job_result_prefix, self.return_job_result, wait_for_completion=self.wait_for_completion
        )
        self.wait_until, self.running_for = check_wait_until(
            wait_until, running_for, job_result=self.job_result, wait_for_completion=self.wait_for_completion
        )
        self._left_running = False
        self._result_uri: str | None = None
        self._request = TaskRequest(secret_arguments=self.secret_arguments)
        self._identity: RunIdentity | None = None
        self._progress = StartProgress()
        self._logs: WorkerLogForwarder | None = None
        self._secrets = TaskSecrets(secret_arguments=self.secret_arguments)

    @property
    def _run_id(self) -> str | None:
        return self._progress.run_id

    @_run_id.setter
    def _run_id(self, run_id: str | None) -> None:
        self._progress.run_id = run_id

    # -- hooks -------------------------------------------------------------------------------------------------

    @cached_property
    def start_hook(self) -> GlueJobRunHook:
        """The hook for StartJobRun: the same connection and config, but botocore never resends the call."""
        return self.hook.without_resends()

    @cached_property
    def _report(self) -> RunReport:
        return RunReport(
            hook=self.hook,
            job_name=self.job_name,
            secret_arguments=self.secret_arguments,
            push_enabled=self.do_xcom_push,
            redactor=self._redactor,
        )

    @cached_property
    def _acquisition(self) -> RunAcquisition:
        return RunAcquisition(
            hook=self.hook,
            start_hook=self.start_hook,
            job_name=self.job_name,
            poll_interval=self.poll_interval,
            log=RedactingLogger(self.log, self._redactor),
            progress=self._progress,
            redact=self._redactor,
        )

    # -- templating --------------------------------------------------------------------------------------------

    def _do_render_template_fields(
        self,
        parent: Any,
        template_fields: Any,
        context: Context,
        jinja_env: jinja2.Environment,
        seen_oids: set[int],
    ) -> None:
        """Render as usual, then parse ``arguments`` and show them with secret values masked.

        Airflow renders plain and mapped tasks through this method, and sends the rendered fields to the UI
        right after; the real values stay on the operator for :meth:`execute` only.
        """
        super()._do_render_template_fields(parent, template_fields, context, jinja_env, seen_oids)
        if parent is self and "arguments" in template_fields:
            self.arguments = self._prepare_arguments().masked()

    def _prepare_arguments(self) -> JobArguments:
        return self._request.prepare(self.arguments)

    # -- execute -----------------------------------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        """Start (or reattach to) the run, then wait on the worker or defer; return the run id (or result) on success.

        An error raised from an AWS answer leaves with the task's secret values masked in its text.
        """
        with scrubbed(self._redactor):
            return self._execute(context)

    def _execute(self, context: Context) -> Any:
        run_options = {field: getattr(self, field) for field in RUN_OPTION_FIELDS}
        arguments, options = self._request.validated(self.job_name, self.arguments, run_options)
        self.forward_logs = check_forward_logs(self.forward_logs)
        for warning in self._request.warnings():
            self.log.warning("%s", warning)
        identity = self._identity = RunIdentity.from_context(context)
        if self.job_result is not None:  # a new URI per start; a reattached run keeps its own
            read = partial(self._secrets.needed_defaults, self._read_job_defaults)
            arguments = ask_for_result(arguments, self.job_result_prefix, identity, read)
        # OpenLineage properties go into the arguments sent; the run identity (hence a retry's reattach) ignores them.
        arguments = self._request.arguments = inject_openlineage(arguments, context, self)
        run = self._acquisition.acquire(identity, RunLedger.from_context(context), arguments.values, options)
        self._result_uri = uri_of_run(run, arguments.values.get(RESULT_URI_ARGUMENT))
        self.log.info("Glue job run %s in the console: %s", run.id, self._report.console_url(run.id))
        self._report.started(context, run.id)
        if not self.wait_for_completion:
            self._report.summary(context, run, self._request.arguments)
            self.log.info("Not waiting for Glue job run %s (wait_for_completion=False).", run.id)
            return run.id
        return self._finish(context, self._wait(run, arguments.secret_values))

    def execute_complete(self, context: Context, event: dict[str, Any], job_result_uri: str | None = None) -> Any:
        """Resume after the trigger: judge its verdict with the shared state model (and read the job result)."""
        result = WaitResult.from_json(event)
        self._run_id, self._result_uri = result.run_id, job_result_uri
        self._secrets.never_read_defaults()  # the trigger masked Glue's text with them: no GetJob on resume
        with scrubbed(self._redactor):
            return self._finish(context, result)

    # -- finishing ---------------------------------------------------------------------------------------------

    def _finish(self, context: Context, result: WaitResult) -> Any:
        result = result.redacted(self._redactor(result.run))
        if result.resolution is Resolution.QUEUE_TIMEOUT:
            self._acquisition.stop(result.run_id, "it stayed queued longer than max_queue_wait")
        problem = self._results.take(result, self._result_uri, self._result_redactor, self._run_result_uri)
        if result.run is not None:
            self._report.summary(context, result.run, self._request.arguments, results=self._results)
        self._results.push(partial(self._report.push, context))
        raise_for_result(result, console_url=self._report.console_url(result.run_id))
        if problem is not None:
            raise problem
        self._left_running = result.left_running
        if self._left_running:
            self.log.info(
                "%s Stop it with BatchStopJobRun (GlueJobRunHook.stop_job_runs, or `aws glue batch-stop-job-run "
                "--job-name %s --job-run-ids %s`) or in the console: %s",
                result.message,
                self.job_name,
                result.run_id,
                self._report.console_url(result.run_id),
            )
            return result.run_id
        self.log.info("Glue job run %s of job %s succeeded.", result.run_id, self.job_name)
        return self._results.value if self.return_job_result else result.run_id

    def on_kill(self) -> None:
        """Stop the run when the task is killed on the worker or hits ``execution_timeout`` (``stop_on_kill``).

        A run the task already left RUNNING (``wait_until="running"``) is not the task's to stop any more.
        """
        if self._left_running:
            self.log.info("Glue job run %s was left RUNNING when the task succeeded; not stopping it.", self._run_id)
            return
        self._acquisition.killed(self._identity, stop=self.stop_on_kill)

    # -- stopping, secrets and lineage -------------------------------------------------------------------------

    def _redactor(self, run: JobRun | None = None) -> Redactor:
        """Hide the task's secret values and the run's merged arguments' (job defaults read only for Glue text)."""
        self._secrets.known = self._prepare_arguments().secret_values
        return self._secrets.redactor_for(run, self._job_defaults)

    def _lineage(self) -> LineageSource:
        return self._report.lineage(self._run_id, self._request.arguments)
