"""``GlueJobRunSensor``: wait on a Glue job run that something else started.

Poke and reschedule modes read the run on the worker; deferrable mode checks once and then waits in the triggerer
with :class:`~airflow_glue_runs.triggers.GlueJobRunTrigger`. All three judge the run the same way, with the
shared waiting policy (:class:`~airflow_glue_runs._internal.run.waiting.RunWatch`) and
:func:`~airflow_glue_runs._internal.run.waiting.raise_for_result`, so a state means the same thing as for the operator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_glue_runs._internal.compat import (
    AirflowRescheduleException,
    AirflowSensorTimeout,
    AirflowSkipException,
    default_deferrable,
)
from airflow_glue_runs._internal.console import console_url
from airflow_glue_runs._internal.glue_logs.forwarding import WorkerLogForwarder, worker_forwarder
from airflow_glue_runs._internal.glue_logs.locations import ForwardLogs, check_forward_logs
from airflow_glue_runs._internal.lineage.listener import GlueRunLineage
from airflow_glue_runs._internal.lineage.openlineage import LineageSource
from airflow_glue_runs._internal.masking import Redactor
from airflow_glue_runs._internal.results.location import check_job_result, check_result_options, uri_of_run
from airflow_glue_runs._internal.run.deferral import glue_run_trigger
from airflow_glue_runs._internal.run.glue_task import GlueTask
from airflow_glue_runs._internal.run.secrets import TaskSecrets, describe_error, scrubbed
from airflow_glue_runs._internal.run.waiting import RunWatch, WaitResult, WaitUntil, raise_for_result
from airflow_glue_runs._internal.start.options import check_flag, check_seconds, check_wait_until
from airflow_glue_runs._internal.start.request import MAX_PAGE_SIZE, check_name
from airflow_glue_runs.exceptions import GlueJobRunOutcomeError, GlueJobRunParameterError
from airflow_glue_runs.links import LINK_XCOM_KEY, GlueJobRunLink, link_target

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_glue_runs.job_run import JobRun

__all__ = ["LATEST_RUN_SCAN_PAGES", "GlueJobRunSensor"]

LATEST_RUN_SCAN_PAGES = 5
"""GetJobRuns pages (200 runs each) read to find a job's most recent run when no ``run_id`` is given."""
LOG_POSITION_KEY = "airflow_glue_runs.log_position"
"""Task state store key of the log forwarding position in reschedule mode (Airflow 3.3+)."""
RUNNING_SINCE_KEY = "airflow_glue_runs.running_since"
"""Task state store key of when the sensor first saw the run RUNNING, for ``running_for`` in reschedule mode."""


class GlueJobRunSensor(GlueTask, GlueRunLineage, BaseSensorOperator):
    """Wait until a Glue job run ends (or is RUNNING); succeed if it succeeded, fail with the reason otherwise.

    The run is ``run_id`` of ``job_name`` or, without ``run_id``, the job's most recent run (by StartedOn,
    among the first :data:`LATEST_RUN_SCAN_PAGES` x 200 runs GetJobRuns returns; AWS returns newest first).
    In poke and reschedule modes the most recent run is looked up at every poke, so a newer run started while
    the sensor waits takes over; deferrable mode looks it up once, before deferring. While the job has no run
    at all the sensor keeps waiting.

    A run that FAILED, ERROR, STOPPED, EXPIRED or TIMEOUT, stayed WAITING longer than ``max_queue_wait``,
    vanished, or may not be read raises the same exception as for :class:`GlueJobRunOperator`; with
    ``soft_fail`` (or ``never_fail``) the task is skipped instead. Throttling and transient faults cost a poke.
    The sensor returns the run id (XCom ``return_value``), or with ``return_job_result`` the job result.
    Glue's ErrorMessage and StateDetail and AWS error texts
    are masked in its log lines and exceptions: the secret values of the run's merged arguments (the job's
    DefaultArguments, read once when there is Glue text to mask, overlaid with the run's) whose names look sensitive
    or are listed in ``secret_arguments``.

    :param job_name: the Glue job (templated).
    :param run_id: the run to wait on (templated); None for the job's most recent run.
    :param max_queue_wait: seconds (or a ``timedelta``) the run may stay WAITING (counted from its StartedOn)
        before the sensor fails with :class:`~airflow_glue_runs.exceptions.GlueJobRunQueueTimeoutError`; None
        waits as long as Glue keeps it queued.
    :param wait_until: ``"end"`` (default) or ``"running"``: succeed once the run is RUNNING (for ``running_for``),
        e.g. a streaming job; other states mean what they mean for ``"end"``. Not with ``job_result``.
    :param running_for: seconds (or a ``timedelta``) the run must stay RUNNING, by the sensor's clock; only with
        ``wait_until="running"``. Reschedule mode keeps the count in the task state store (Airflow 3.3+; before,
        ``running_for`` needs poke or deferrable mode).
    :param deferrable: wait in the triggerer instead of on the worker. Defaults to Airflow's
        ``[operators] default_deferrable``.
    :param poll_interval: seconds (or a ``timedelta``) between reads of the run in deferrable mode; defaults to
        ``poke_interval``.
    :param forward_logs: copy the run's CloudWatch lines into the task log: ``False`` (default), ``True`` (driver)
        or ``"all"`` (executors too); values of sensitive-looking arguments and of ``secret_arguments`` are
        masked. Poke mode and deferrable mode forward as the run goes; reschedule mode keeps its position in the
        task state store (Airflow 3.3+), and on earlier Airflow forwards the whole log once the run is over
        (XComs are cleared at every reschedule). Templated.
    :param secret_arguments: names of job arguments whose values are masked in Glue's texts, AWS error texts and
        forwarded lines (besides the sensitive-looking ones).
    :param aws_conn_id: the Airflow ``aws`` connection (None: boto3's default credential chain).
    :param region_name: the AWS region, overriding the connection's.
    :param verify: TLS certificate verification: a bool or the path of a CA bundle; None uses the connection's.
    :param botocore_config: botocore ``Config`` keyword arguments, overriding the connection's
        ``config_kwargs``.
    :param job_result: read the job result the run wrote (``glue_job_result.write_result``) to the URI in its
        ``--airflow-glue-runs-result-uri`` argument, once it ended, and push it to XCom ``glue_job_result``:
        ``"required"`` (a succeeded run without one fails with ``GlueJobRunResultError``), ``"optional"`` (a
        warning) or None (default: off). docs: job-results.md.
    :param return_job_result: return the job result instead of the run id.

    OpenLineage events of the task carry the id and summary of the run it waited on and, on failure, Glue's
    ErrorMessage (like :class:`~airflow_glue_runs.operators.GlueJobRunOperator`'s).
    """

    template_fields: Sequence[str] = ("job_name", "run_id", "forward_logs")
    operator_extra_links = (GlueJobRunLink(),)
    ui_color = "#e6d5f2"

    def __init__(
        self,
        *,
        job_name: str,
        run_id: str | None = None,
        max_queue_wait: float | timedelta | None = None,
        wait_until: WaitUntil = "end",
        running_for: float | timedelta | None = None,
        deferrable: bool | None = None,
        poll_interval: float | timedelta | None = None,
        forward_logs: ForwardLogs = False,
        secret_arguments: Sequence[str] = (),
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: Mapping[str, Any] | None = None,
        job_result: Literal["required", "optional"] | None = None,
        return_job_result: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_result = check_job_result(job_result)
        self.return_job_result = check_flag("return_job_result", return_job_result)
        check_result_options(self.job_result, None, self.return_job_result)
        self.job_name = job_name
        self.run_id = run_id
        self.max_queue_wait = check_seconds("max_queue_wait", max_queue_wait, allow_none=True, allow_zero=False)
        self.wait_until, self.running_for = check_wait_until(wait_until, running_for, job_result=self.job_result)
        self.deferrable = default_deferrable() if deferrable is None else check_flag("deferrable", deferrable)
        self.poll_interval = check_seconds("poll_interval", poll_interval, allow_none=True, allow_zero=False)
        self.forward_logs = forward_logs
        self.secret_arguments = tuple(secret_arguments)
        self._logs: WorkerLogForwarder | None = None
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.verify = verify
        self.botocore_config = dict(botocore_config) if botocore_config is not None else None
        self._watch: RunWatch | None = None
        self._linked_run: str | None = None
        self._result: WaitResult | None = None
        self._seen: JobRun | None = None
        self._secrets = TaskSecrets(secret_arguments=self.secret_arguments)

    # -- poke and reschedule modes ---------------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        """Check the parameters; then poke (poke and reschedule modes) or check once and defer."""
        self._check_parameters()
        if self.running_for and self.reschedule and not self.deferrable and context.get("task_state_store") is None:
            raise GlueJobRunParameterError(
                "running_for",
                "mode='reschedule' keeps its count only in the task state store (Airflow 3.3+): "
                "use mode='poke' or deferrable=True",
            )
        with scrubbed(self._redactor):
            if not self.deferrable:
                return super().execute(context)
            return self._check_then_defer(context)

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """Read the run once: done when it succeeded; raise when it ended otherwise; keep waiting while active."""
        result, _ = self._look(context)
        if result is None:
            return False
        return PokeReturnValue(is_done=True, xcom_value=self._done(context, result, self._seen))

    def _look(self, context: Context) -> tuple[WaitResult | None, str | None]:
        """Read the run and apply the waiting policy; return the verdict (None: keep waiting) and the run id."""
        run_id = self.run_id
        try:
            run = self.hook.get_job_run(self.job_name, run_id) if run_id else self._latest_run()
        except Exception as error:
            watch = self._watch_for(run_id) if run_id else RunWatch(self.job_name, "(most recent run)")
            if (verdict := watch.judge_read_error(error)) is not None:
                return verdict.redacted(self._redactor()), run_id
            self.log.warning(
                "Could not read Glue job run %s of job %s this poke: %s",
                run_id,
                self.job_name,
                self._redactor()(describe_error(error)),
            )
            return None, run_id
        if run is None:
            self.log.info("Glue job %s has no run yet; waiting for one.", self.job_name)
            return None, None
        self._seen = run
        self._push_link(context, run.id)
        run = run.with_glue_text(self._redactor(run))
        store = context.get("task_state_store") if self.reschedule and self.running_for else None
        watch = self._watch_for(run.id, store)
        lines, result = watch.observe(run, _now())
        if store is not None:
            since = watch.running_since.isoformat() if watch.running_since is not None else None
            store.set(RUNNING_SINCE_KEY, {"run_id": run.id, "since": since})
        for line in lines:
            self.log.info("%s", line)
        self._forward(context, run, result)
        return result, run.id

    def _forward(self, context: Context, run: JobRun, result: WaitResult | None) -> None:
        """Forward the run's new lines; all of them, bounded, once it is over (not before deferring)."""
        store = context.get("task_state_store") if self.reschedule else None
        if self._logs is None or self._logs.logs.run_id != run.id:
            saved: Any = store.get(LOG_POSITION_KEY) if store is not None else None
            position = saved["position"] if isinstance(saved, dict) and saved.get("run_id") == run.id else None
            self._logs = worker_forwarder(
                self.hook,
                self.job_name,
                run.id,
                self.forward_logs,
                log=self.log,
                position=position,
                secret_arguments=self.secret_arguments,
                job_defaults=self._job_defaults,
            )
        if self._logs is None:
            return
        if result is not None and run.is_terminal:
            self._logs.final_flush(run)
        elif result is None and not self.deferrable and (store is not None or not self.reschedule):
            self._logs.poll(run)
        if store is not None and self._logs.logs.position is not None:
            store.set(LOG_POSITION_KEY, {"run_id": run.id, "position": self._logs.logs.position.to_json()})

    def _watch_for(self, run_id: str, store: Any = None) -> RunWatch:
        """Return the watch of ``run_id``, kept across pokes (a new one when the most recent run changed).

        :param store: the task state store that keeps ``running_for``'s count across reschedules, or None.
        """
        if self._watch is None or self._watch.run_id != run_id:
            if self._watch is not None:
                self.log.info("The most recent run of Glue job %s is now %s.", self.job_name, run_id)
            self._watch = RunWatch(
                job_name=self.job_name,
                run_id=run_id,
                max_queue_wait=self.max_queue_wait,
                wait_until=self.wait_until,
                running_for=self.running_for,
            )
            saved = store.get(RUNNING_SINCE_KEY) if store is not None else None
            if isinstance(saved, dict) and saved.get("run_id") == run_id and saved.get("since"):
                self._watch.running_since = datetime.fromisoformat(saved["since"])
        return self._watch

    def _latest_run(self) -> JobRun | None:
        """Return the job's run with the latest StartedOn among the first pages, whatever order Glue uses."""
        latest: JobRun | None = None
        token: str | None = None
        for _ in range(LATEST_RUN_SCAN_PAGES):
            page = self.hook.get_job_runs_page(self.job_name, max_results=MAX_PAGE_SIZE, next_token=token)
            for run in page.runs:
                if latest is None or _started(run) > _started(latest):
                    latest = run
            if page.next_token is None:
                break
            token = page.next_token
        return latest

    def _done(self, context: Context, result: WaitResult, run: JobRun | None) -> Any:
        """Take the job result (``job_result``), then judge the run; return the run id or the result.

        :param run: the run as read with its arguments (None after a deferral: read again, once, for its result URI
            and secret values, only when ``job_result`` is on).
        """
        problem = None
        if self._results.enabled and result.run is not None and result.run.is_terminal:
            if run is None or run.arguments is None:
                run = self.hook.get_job_run(self.job_name, result.run_id)
            self._secrets.see(run)
            problem = self._results.take(result, uri_of_run(run), self._result_redactor)
            if self.do_xcom_push:
                self._results.push(lambda key, value: context["ti"].xcom_push(key=key, value=value))
        self._judge(result)
        if problem is not None:
            raise problem
        return self._results.value if self.return_job_result else result.run_id

    def _judge(self, result: WaitResult) -> None:
        """Return if the run succeeded; raise its outcome error, or skip the task under soft_fail/never_fail."""
        self._result = result
        try:
            raise_for_result(result, console_url=self._console_url(result.run_id))
        except GlueJobRunOutcomeError as error:
            # BaseSensorOperator only turns Airflow's own exceptions into skips; outcome errors are ours.
            if self.soft_fail or self.never_fail:
                flag = "soft_fail" if self.soft_fail else "never_fail"
                raise AirflowSkipException(f"Skipping ({flag}=True): {error}") from error
            raise
        self.log.info("%s", result.message)

    # -- deferrable mode -------------------------------------------------------------------------------------

    def _check_then_defer(self, context: Context) -> Any:
        result, run_id = self._look(context)
        if result is not None:
            return self._done(context, result, self._seen)
        if run_id is None:
            self._reschedule_until_a_run_exists(context)
        self.log.info("Deferring the wait on Glue job run %s of job %s to the triggerer.", run_id, self.job_name)
        self.defer(
            # stop_on_kill=False: the sensor does not own the run
            trigger=glue_run_trigger(
                self,
                run_id,
                poll_interval=self.poll_interval or self.poke_interval,
                stop_on_kill=False,
                running_since=self._watch.running_since if self._watch is not None else None,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Resume after the trigger and judge its verdict like a poke would; return the run id."""
        result = WaitResult.from_json(event)
        self._secrets.never_read_defaults()  # the trigger masked Glue's text with them: no GetJob on resume
        with scrubbed(self._redactor):
            return self._done(context, result.redacted(self._redactor()), None)

    def _reschedule_until_a_run_exists(self, context: Context) -> NoReturn:
        """Come back after ``poke_interval`` (slot freed) while the job has no run to defer on."""
        first = context["ti"].get_first_reschedule_date(context) or datetime.now(UTC)
        if (datetime.now(UTC) - first).total_seconds() > self.timeout:
            message = f"Glue job {self.job_name} had no run for longer than the sensor's timeout {self.timeout} s."
            if self.soft_fail:
                raise AirflowSkipException(message)
            raise AirflowSensorTimeout(message)
        raise AirflowRescheduleException(  # type: ignore[no-untyped-call]
            datetime.now(UTC) + timedelta(seconds=self.poke_interval)
        )

    # -- OpenLineage -----------------------------------------------------------------------------------------

    def _lineage(self) -> LineageSource:
        result = self._result
        run_id, run = (result.run_id, result.run) if result is not None else (None, None)
        return LineageSource.of(self.job_name, self.hook, run_id, run, job_result=self._results.value)

    # -- helpers ---------------------------------------------------------------------------------------------

    def _check_parameters(self) -> None:
        """Check the rendered templated fields before any request."""
        check_name("job_name", self.job_name)
        self.forward_logs = check_forward_logs(self.forward_logs)
        if self.run_id is not None:
            check_name("run_id", self.run_id)

    def _redactor(self, run: JobRun | None = None) -> Redactor:
        """Return the masking of the secret values of the run's merged arguments (the job's defaults read lazily)."""
        return self._secrets.redactor_for(run, self._job_defaults)

    def _console_url(self, run_id: str) -> str:
        return console_url(self.hook.conn_region_name, self.job_name, run_id)

    def _push_link(self, context: Context, run_id: str) -> None:
        if run_id != self._linked_run:
            target = link_target(self.hook.conn_region_name, self.job_name, run_id)
            context["ti"].xcom_push(key=LINK_XCOM_KEY, value=target)
            self._linked_run = run_id


def _now() -> datetime:
    """Return the wall-clock time a poke judges the run at (timezone-aware; tests replace it)."""
    return datetime.now(UTC)


def _started(run: JobRun) -> datetime:
    return run.started_on or datetime.min.replace(tzinfo=UTC)
