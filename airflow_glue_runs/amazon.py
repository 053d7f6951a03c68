"""The Amazon provider's ``GlueJobOperator`` and ``GlueJobSensor``, on airflow-glue-runs: switch with one import.

``from airflow.providers.amazon.aws.operators.glue import GlueJobOperator`` becomes
``from airflow_glue_runs.amazon import GlueJobOperator`` (the same for ``GlueJobSensor``); the parameters keep the
Amazon provider 9.x names, defaults and meaning, and the task runs on
:class:`~airflow_glue_runs.operators.GlueJobRunOperator` / :class:`~airflow_glue_runs.sensors.GlueJobRunSensor`.
Job-definition parameters go to the definition reconcile
(:mod:`airflow_glue_runs._internal.amazon.definition`). Parameters this provider cannot honour follow one rule
(:mod:`airflow_glue_runs._internal.amazon.parameters`): refused when the DAG is parsed, naming the replacement, unless
the value asks for what this provider does anyway. The docs' "Migrating from the Amazon provider" page has the full map.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from airflow.sdk import BaseOperator, BaseSensorOperator

from airflow_glue_runs._internal.amazon import parameters as amazon
from airflow_glue_runs._internal.amazon.definition import AmazonJobDefinition
from airflow_glue_runs._internal.amazon.notices import OPERATOR_NOTICE, SENSOR_NOTICE
from airflow_glue_runs._internal.start.options import RUN_OPTION_FIELDS, check_flag
from airflow_glue_runs.operators import GlueJobRunOperator
from airflow_glue_runs.sensors import GlueJobRunSensor

if TYPE_CHECKING:
    import jinja2
    from airflow.sdk import Context

__all__ = ["GlueJobOperator", "GlueJobSensor"]

_TEMPLATE_FIELDS = ("aws_conn_id", "region_name", "verify")
"""The Amazon provider templates its connection parameters too (``aws_template_fields``)."""


class GlueJobOperator(GlueJobRunOperator):
    """The Amazon provider's ``GlueJobOperator`` (9.x parameters and defaults) running on GlueJobRunOperator.

    Run side: ``script_args`` are the run's arguments; ``run_job_kwargs`` carries StartJobRun fields (``Timeout``,
    ``WorkerType``, ``NumberOfWorkers``, ``MaxCapacity``, ``ExecutionClass``, ``JobRunQueuingEnabled``,
    ``SecurityConfiguration``, ``NotificationProperty``, ``ExecutionRoleSessionPolicy``; ``Arguments`` refused);
    ``verbose`` forwards the run's driver logs; ``stop_job_run_on_kill`` (default False) stops the run when the task
    is killed; the run is read every ``job_poll_interval`` seconds (6) on the worker, or ``waiter_delay`` (60)
    when deferred; with ``deferrable=True`` the task waits even when ``wait_for_completion=False``, as the Amazon
    provider documents. XCom: the run id as the return value and ``glue_job_run_id``.

    Job definition: ``script_location``, ``s3_bucket``, ``iam_role_name``/``iam_role_arn``, ``create_job_kwargs``,
    ``job_desc``, ``concurrent_run_limit``, ``retry_limit``, ``num_of_dpus``, ``update_config`` and
    ``replace_script_file``: the job is created when missing (the Amazon provider's defaults explicit and logged);
    an existing one changes only with ``update_config=True``, and then only in the fields given. A local
    ``script_location`` is uploaded content-addressed under ``s3_bucket``/``artifacts/glue-scripts``.

    Refused when the DAG is parsed, with the replacement named: ``waiter_max_attempts``, ``sleep_before_return``
    other than 0, ``durable=False``, ``resume_glue_job_on_retry=False``. Besides the Amazon parameters,
    ``secret_arguments``, ``max_queue_wait``, ``job_result``, ``job_result_prefix`` and ``return_job_result`` of
    GlueJobRunOperator are accepted (docs: "Job results").
    """

    template_fields: Sequence[str] = tuple(
        sorted(
            {
                *_TEMPLATE_FIELDS,
                "job_name",
                "script_location",
                "script_args",
                "create_job_kwargs",
                "run_job_kwargs",
                "s3_bucket",
                "iam_role_name",
                "iam_role_arn",
                "job_result_prefix",
            }
        )
    )
    template_fields_renderers = {"script_args": "json", "create_job_kwargs": "json", "run_job_kwargs": "json"}

    def __init__(
        self,
        *,
        job_name: str = "aws_glue_default_job",
        job_desc: str | None = None,
        script_location: str | None = None,
        concurrent_run_limit: int | None = None,
        script_args: Mapping[str, Any] | None = None,
        retry_limit: int | None = None,
        num_of_dpus: float | None = None,
        s3_bucket: str | None = None,
        iam_role_name: str | None = None,
        iam_role_arn: str | None = None,
        create_job_kwargs: Mapping[str, Any] | None = None,
        run_job_kwargs: Mapping[str, Any] | None = None,
        wait_for_completion: bool = True,
        deferrable: bool | None = None,
        verbose: bool = False,
        replace_script_file: bool = False,
        update_config: bool = False,
        stop_job_run_on_kill: bool = False,
        sleep_before_return: float = 0,
        job_poll_interval: float = 6,
        waiter_delay: float = 60,
        waiter_max_attempts: int | None = None,
        resume_glue_job_on_retry: bool | None = None,
        durable: bool | None = None,
        openlineage_inject_parent_job_info: bool | None = None,
        openlineage_inject_transport_info: bool | None = None,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict[str, Any] | None = None,
        secret_arguments: Collection[str] = (),
        max_queue_wait: float | timedelta | None = None,
        job_result: Literal["required", "optional"] | None = None,
        job_result_prefix: str | None = None,
        return_job_result: bool = False,
        **kwargs: Any,
    ) -> None:
        amazon.check_kwargs(kwargs, amazon.OPERATOR_PARAMETERS, BaseOperator)
        amazon.check_refused(
            {
                "waiter_max_attempts": waiter_max_attempts,
                "sleep_before_return": sleep_before_return,
                "durable": durable,
                "resume_glue_job_on_retry": resume_glue_job_on_retry,
            }
        )
        amazon.check_role(iam_role_name, iam_role_arn)
        role_given = bool(iam_role_name or iam_role_arn)
        amazon.check_create_job_kwargs(create_job_kwargs, num_of_dpus=num_of_dpus, role_given=role_given)
        super().__init__(
            job_name=job_name,
            secret_arguments=secret_arguments,
            wait_for_completion=wait_for_completion,
            deferrable=deferrable,
            stop_on_kill=check_flag("stop_job_run_on_kill", stop_job_run_on_kill),
            forward_logs=check_flag("verbose", verbose),
            max_queue_wait=max_queue_wait,
            aws_conn_id=aws_conn_id,
            region_name=region_name,
            verify=verify,
            botocore_config=botocore_config,
            openlineage_inject_parent_job_info=openlineage_inject_parent_job_info,
            openlineage_inject_transport_info=openlineage_inject_transport_info,
            job_result=job_result,
            job_result_prefix=job_result_prefix,
            return_job_result=return_job_result,
            **amazon.run_options(run_job_kwargs),
            **kwargs,
        )
        self.job_desc = job_desc
        self.script_location = script_location
        self.concurrent_run_limit = concurrent_run_limit
        self.script_args = script_args
        self.retry_limit = retry_limit
        self.num_of_dpus = num_of_dpus
        self.s3_bucket = s3_bucket
        self.iam_role_name = iam_role_name
        self.iam_role_arn = iam_role_arn
        self.create_job_kwargs = create_job_kwargs
        self.run_job_kwargs = run_job_kwargs
        self.verbose = verbose
        self.replace_script_file = check_flag("replace_script_file", replace_script_file)
        self.update_config = check_flag("update_config", update_config)
        self.stop_job_run_on_kill = stop_job_run_on_kill
        self.sleep_before_return = sleep_before_return
        self.job_poll_interval = job_poll_interval
        self.waiter_delay = waiter_delay
        self.waiter_max_attempts = waiter_max_attempts
        self.durable = True
        self.poll_interval = self._poll_interval()
        self._translated = False

    def _poll_interval(self) -> float:
        return amazon.poll_interval(
            deferrable=self.deferrable, job_poll_interval=self.job_poll_interval, waiter_delay=self.waiter_delay
        )

    def _do_render_template_fields(
        self,
        parent: Any,
        template_fields: Any,
        context: Context,
        jinja_env: jinja2.Environment,
        seen_oids: set[int],
    ) -> None:
        """Render as the Amazon provider does, then map the rendered values (``script_args`` shown masked)."""
        super()._do_render_template_fields(parent, template_fields, context, jinja_env, seen_oids)
        if parent is self:
            self._translate()

    def _translate(self) -> None:
        """Map the (rendered) Amazon parameters onto GlueJobRunOperator's, once; check them again as rendered."""
        if self._translated:
            return
        amazon.check_role(self.iam_role_name, self.iam_role_arn)
        amazon.check_create_job_kwargs(
            self.create_job_kwargs,
            num_of_dpus=self.num_of_dpus,
            role_given=bool(self.iam_role_name or self.iam_role_arn),
        )
        for field, value in amazon.run_options(self.run_job_kwargs).items():
            setattr(self, field, value)
        self.arguments = dict(self.script_args or {})
        self.script_args = self._prepare_arguments().masked()  # what the UI shows; the values stay in the request
        # Attributes a DAG may set after construction, as the Amazon provider's example does.
        self.forward_logs = check_flag("verbose", self.verbose)
        self.stop_on_kill = check_flag("stop_job_run_on_kill", self.stop_job_run_on_kill)
        self.poll_interval = self._poll_interval()
        self._translated = True

    def execute(self, context: Context) -> Any:
        """Check the request, make the job definition as the Amazon provider would, then start and wait."""
        self._translate()
        self.log.info("%s", OPERATOR_NOTICE)
        if self.deferrable and not self.wait_for_completion:
            self.log.info("deferrable=True waits for the run, as in the Amazon provider (wait_for_completion=False).")
            self.wait_for_completion = True
        run_options = {field: getattr(self, field) for field in RUN_OPTION_FIELDS}
        self._request.validated(self.job_name, self.arguments, run_options)  # bad run input fails before any write
        definition = AmazonJobDefinition(
            job_name=self.job_name,
            script_location=self.script_location,
            s3_bucket=self.s3_bucket,
            iam_role_name=self.iam_role_name,
            iam_role_arn=self.iam_role_arn,
            create_job_kwargs=self.create_job_kwargs,
            job_desc=self.job_desc,
            concurrent_run_limit=self.concurrent_run_limit,
            retry_limit=self.retry_limit,
            num_of_dpus=self.num_of_dpus,
            update_config=self.update_config,
            replace_script_file=self.replace_script_file,
        )
        definition.run(self.hook, self.log, secret_arguments=self.secret_arguments, dag_folder=self._dag_folder())
        return super().execute(context)

    def _dag_folder(self) -> Path | None:
        try:
            fileloc = getattr(self.dag, "fileloc", None)
        except RuntimeError:  # not assigned to a DAG (a task built in a test)
            return None
        return Path(fileloc).parent if fileloc else None


class GlueJobSensor(GlueJobRunSensor):
    """The Amazon provider's ``GlueJobSensor`` (9.x parameters and defaults) running on GlueJobRunSensor.

    ``run_id`` may be the operator's output (``submit.output``); ``verbose`` forwards the run's driver logs;
    ``poke_interval`` defaults to 120 seconds and is also the deferred read interval, as in the Amazon provider.
    ``max_retries`` is refused when the DAG is parsed: bound the wait with the sensor's ``timeout``. ERROR and
    EXPIRED fail the sensor; it returns the run id. ``secret_arguments``, ``max_queue_wait``, ``job_result`` and
    ``return_job_result`` of GlueJobRunSensor are accepted too.
    """

    template_fields: Sequence[str] = tuple(sorted({*_TEMPLATE_FIELDS, "job_name", "run_id"}))

    def __init__(
        self,
        *,
        job_name: str,
        run_id: str,
        verbose: bool = False,
        deferrable: bool | None = None,
        poke_interval: float = 120,
        max_retries: int | None = None,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: Mapping[str, Any] | None = None,
        secret_arguments: Sequence[str] = (),
        max_queue_wait: float | timedelta | None = None,
        job_result: Literal["required", "optional"] | None = None,
        return_job_result: bool = False,
        **kwargs: Any,
    ) -> None:
        amazon.check_kwargs(kwargs, amazon.SENSOR_PARAMETERS, BaseSensorOperator)
        amazon.check_refused({"max_retries": max_retries})
        super().__init__(
            job_name=job_name,
            run_id=run_id,
            deferrable=deferrable,
            forward_logs=check_flag("verbose", verbose),
            poke_interval=poke_interval,
            secret_arguments=secret_arguments,
            max_queue_wait=max_queue_wait,
            aws_conn_id=aws_conn_id,
            region_name=region_name,
            verify=verify,
            botocore_config=botocore_config,
            job_result=job_result,
            return_job_result=return_job_result,
            **kwargs,
        )
        self.verbose = verbose
        self.max_retries = max_retries

    def execute(self, context: Context) -> Any:
        """Say where this provider differs, then wait as GlueJobRunSensor does."""
        self.forward_logs = check_flag("verbose", self.verbose)
        self.log.info("%s", SENSOR_NOTICE)
        return super().execute(context)
