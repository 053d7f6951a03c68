"""``airflow_glue_runs.amazon``: the Amazon provider's GlueJobOperator and GlueJobSensor parameters on this provider.

Parse-time checks run with the local Glue's counters watched, so "before any AWS call" means ``glue.calls() == {}``.
Job-definition tests count the writes the local Glue answered (CreateJob, UpdateJob, PutObject).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import DAG
from airflow_versions import TaskDeferred, log_messages
from operator_fakes import FakeTI, task_context
from support import job_writes as writes
from support import s3_client as s3

from airflow_glue_runs.amazon import GlueJobOperator, GlueJobSensor
from airflow_glue_runs.exceptions import GlueJobRunFailedError, GlueJobRunParameterError
from airflow_glue_runs.local_glue import LocalGlue
from airflow_glue_runs.operators import GlueJobRunOperator
from airflow_glue_runs.sensors import GlueJobRunSensor

JOB = "amazon-etl"
ROLE = "GlueJobRole"
_buckets = itertools.count()


@pytest.fixture
def bucket(glue: LocalGlue) -> str:
    """A new S3 bucket holding ``etl.py`` (S3 outlives the per-test reset, so each test takes its own)."""
    name = f"amazon-{next(_buckets)}-{id(glue) % 1000}"
    s3(glue).create_bucket(Bucket=name)
    s3(glue).put_object(Bucket=name, Key="etl.py", Body=b"print('hello')\n")
    glue.reset_counters()
    return name


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "etl.py"
    path.write_text("print('version 1')\n")
    return path


def run(op: GlueJobOperator, ti: FakeTI | None = None) -> str:
    op.render_template_fields({})  # type: ignore[arg-type]
    run_id: str = op.execute(task_context(ti))  # type: ignore[arg-type]
    return run_id


def job(glue: LocalGlue) -> dict[str, Any]:
    return glue.client().get_job(JobName=JOB)["Job"]


def operator(**kwargs: Any) -> GlueJobOperator:
    """The operator under test; it reads the run every 0.01 s unless the test says otherwise (no real waits)."""
    kwargs.setdefault("job_poll_interval", 0.01)
    return GlueJobOperator(task_id="submit", job_name=JOB, **kwargs)


# -- the classes -------------------------------------------------------------------------------------------------


def test_the_classes_are_thin_subclasses_of_the_native_ones() -> None:
    """GlueJobOperator and GlueJobSensor are GlueJobRunOperator and GlueJobRunSensor underneath."""
    assert issubclass(GlueJobOperator, GlueJobRunOperator)
    assert issubclass(GlueJobSensor, GlueJobRunSensor)


def test_templated_fields_are_the_amazon_providers() -> None:
    """The operator and the sensor template every field the installed Amazon provider templates (connection
    parameters included, which its 9.5 floor did not template yet), with the same renderers; plus this provider's
    own templated job_result_prefix."""
    from airflow.providers.amazon.aws.operators.glue import GlueJobOperator as AmazonOperator
    from airflow.providers.amazon.aws.sensors.glue import GlueJobSensor as AmazonSensor

    connection = {"aws_conn_id", "region_name", "verify"}
    own = {"job_result_prefix"}
    assert set(GlueJobOperator.template_fields) == {*AmazonOperator.template_fields, *connection, *own}
    assert GlueJobOperator.template_fields_renderers == AmazonOperator.template_fields_renderers
    assert set(GlueJobSensor.template_fields) == {*AmazonSensor.template_fields, *connection}


def test_the_anchors_defaults_stay() -> None:
    """stop_job_run_on_kill is False, the poll is job_poll_interval (6 s), the sensor pokes every 120 s."""
    op = GlueJobOperator(task_id="submit", job_name=JOB)
    assert (op.stop_on_kill, op.poll_interval, op.forward_logs, op.wait_for_completion) == (False, 6.0, False, True)
    assert operator(deferrable=True).poll_interval == 60.0
    assert operator(deferrable=True, waiter_delay=5, job_poll_interval=1).poll_interval == 5.0
    assert operator(job_poll_interval=2.5).poll_interval == 2.5
    assert operator(deferrable=True).poll_interval == 60.0
    sensor = GlueJobSensor(task_id="wait", job_name=JOB, run_id="jr_1")
    assert (sensor.poke_interval, sensor.forward_logs) == (120, False)
    assert GlueJobSensor(task_id="wait", job_name=JOB, run_id="jr_1", verbose=True).forward_logs is True


def test_run_side_parameters_map_onto_the_native_ones() -> None:
    """script_args, verbose, stop_job_run_on_kill and every run_job_kwargs field become the native options."""
    op = operator(
        script_args={"--day": "2026-01-01", "--n": 3},
        verbose=True,
        stop_job_run_on_kill=True,
        run_job_kwargs={
            "Timeout": 30,
            "WorkerType": "G.2X",
            "NumberOfWorkers": 4,
            "ExecutionClass": "FLEX",
            "JobRunQueuingEnabled": True,
            "SecurityConfiguration": "sec",
            "NotificationProperty": {"NotifyDelayAfter": 7},
            "ExecutionRoleSessionPolicy": '{"Version": "2012-10-17"}',
        },
    )
    op.render_template_fields({})  # type: ignore[arg-type]
    assert op.arguments == {"--day": "2026-01-01", "--n": 3}
    assert (op.forward_logs, op.stop_on_kill) == (True, True)
    assert (op.timeout, op.worker_type, op.number_of_workers, op.execution_class) == (30, "G.2X", 4, "FLEX")
    assert (op.job_run_queuing_enabled, op.security_configuration, op.notify_delay_after) == (True, "sec", 7)
    assert op.execution_role_session_policy == '{"Version": "2012-10-17"}'
    assert operator(run_job_kwargs={"MaxCapacity": 2.0}).max_capacity == 2.0


def test_templated_run_job_kwargs_map_after_rendering() -> None:
    """A run_job_kwargs that is a template is mapped once rendered (native objects rendering)."""
    with DAG("amazon_native", schedule=None, render_template_as_native_obj=True):
        op = operator(run_job_kwargs="{{ {'Timeout': 12} }}", aws_conn_id="{{ 'aws_' ~ 'default' }}")
    op.render_template_fields({})  # type: ignore[arg-type]
    assert (op.timeout, op.aws_conn_id) == (12, "aws_default")


# -- parse-time errors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"job_args": {"--a": "1"}}, "job_args"),
        ({"script_arg": {"--a": "1"}}, "script_arg"),
        ({"arguments": {"--a": "1"}}, "arguments"),
        ({"timeout": 5}, "timeout"),
        ({"poll_interval": 5}, "poll_interval"),
        ({"num_of_dpus": 5, "create_job_kwargs": {"WorkerType": "G.1X", "NumberOfWorkers": 2}}, "num_of_dpus"),
        ({"num_of_dpus": 5, "create_job_kwargs": {"MaxCapacity": 5}}, "num_of_dpus"),
        ({"create_job_kwargs": {"WorkerType": "G.1X"}}, "create_job_kwargs.NumberOfWorkers"),
        ({"create_job_kwargs": {"NumberOfWorkers": 2}}, "create_job_kwargs.WorkerType"),
        ({"create_job_kwargs": {"Name": "other"}}, "create_job_kwargs.Name"),
        ({"create_job_kwargs": {"AllocatedCapacity": 2}}, "create_job_kwargs.AllocatedCapacity"),
        ({"create_job_kwargs": {"Role": "x"}, "iam_role_name": ROLE}, "create_job_kwargs.Role"),
        ({"iam_role_name": ROLE, "iam_role_arn": f"arn:aws:iam::123456789012:role/{ROLE}"}, "iam_role_name"),
        ({"run_job_kwargs": {"Arguments": {"--a": "1"}}}, "run_job_kwargs.Arguments"),
        ({"run_job_kwargs": {"JobName": "x"}}, "run_job_kwargs.JobName"),
        ({"run_job_kwargs": {"JobRunId": "jr_1"}}, "run_job_kwargs.JobRunId"),
        ({"run_job_kwargs": {"AllocatedCapacity": 2}}, "run_job_kwargs.AllocatedCapacity"),
        ({"run_job_kwargs": {"Timeuot": 2}}, "run_job_kwargs"),
        ({"run_job_kwargs": {"NotificationProperty": 5}}, "run_job_kwargs.NotificationProperty"),
        ({"job_poll_interval": 0}, "job_poll_interval"),
        ({"deferrable": True, "waiter_delay": -1}, "waiter_delay"),
        ({"verbose": "yes"}, "verbose"),
        ({"update_config": 1}, "update_config"),
    ],
)
def test_bad_input_fails_when_the_dag_is_parsed_naming_the_parameter(
    glue: LocalGlue, kwargs: dict[str, Any], named: str
) -> None:
    """A misspelled, native-named or conflicting parameter raises in __init__, naming it, before any AWS call."""
    with pytest.raises((GlueJobRunParameterError, TypeError)) as raised:
        operator(**kwargs)
    assert named in str(raised.value)
    assert glue.calls() == {}


@pytest.mark.parametrize(
    ("kwargs", "replacement"),
    [
        ({"waiter_max_attempts": 75}, "execution_timeout"),
        ({"waiter_max_attempts": 10}, "Timeout"),
        ({"sleep_before_return": 10}, "JobRunQueuingEnabled"),
        ({"durable": False}, "no opt-out"),
        ({"resume_glue_job_on_retry": False}, "no opt-out"),
    ],
)
def test_parameters_that_cannot_be_honoured_are_refused_naming_the_replacement(
    glue: LocalGlue, kwargs: dict[str, Any], replacement: str
) -> None:
    """waiter_max_attempts, sleep_before_return > 0 and durable=False fail at parse time with the replacement."""
    with pytest.raises(GlueJobRunParameterError) as raised:
        operator(**kwargs)
    assert next(iter(kwargs)) in str(raised.value)
    assert replacement in str(raised.value)
    assert glue.calls() == {}


def test_values_that_ask_for_this_providers_behaviour_are_accepted() -> None:
    """durable=True, resume_glue_job_on_retry=True and sleep_before_return=0 mean what this provider does anyway."""
    operator(durable=True, resume_glue_job_on_retry=True, sleep_before_return=0)


def test_the_sensors_max_retries_is_refused_and_misspellings_named(glue: LocalGlue) -> None:
    """GlueJobSensor(max_retries=...) names the sensor's timeout; a misspelled parameter is named."""
    with pytest.raises(GlueJobRunParameterError, match=r"max_retries.*timeout"):
        GlueJobSensor(task_id="wait", job_name=JOB, run_id="jr_1", max_retries=60)
    with pytest.raises(GlueJobRunParameterError, match=r"verbos.*verbose"):
        GlueJobSensor(task_id="wait", job_name=JOB, run_id="jr_1", verbos=True)
    assert glue.calls() == {}


# -- the run ------------------------------------------------------------------------------------------------------


def test_a_run_of_an_existing_job_pushes_the_anchors_xcom(glue: LocalGlue, logs: list[dict[str, Any]]) -> None:
    """No job-definition parameters: no GetJob, one StartJobRun; the return value and glue_job_run_id are the run id."""
    glue.create_job(JOB)
    glue.reset_counters()
    ti = FakeTI()
    run_id = run(operator(script_args={"--day": "2026-01-01"}), ti)
    assert ti.xcom("glue_job_run_id") == run_id
    assert ti.xcom("glue_job_run_link")["run_id"] == run_id
    calls = glue.calls()
    assert calls["StartJobRun"] == 1
    assert not {"GetJob", "CreateJob"} & set(calls)
    assert sum("ERROR and EXPIRED fail the task" in message for message in log_messages(logs)) == 1


def test_deferrable_waits_even_with_wait_for_completion_false(glue: LocalGlue) -> None:
    """As the Amazon provider documents, deferrable=True implies waiting: the task defers."""
    glue.create_job(JOB, default_arguments={"--local-glue-duration": "60"})
    op = operator(deferrable=True)
    op.wait_for_completion = False  # set after construction, as the Amazon provider's example does
    with pytest.raises(TaskDeferred) as deferred:
        run(op)
    assert deferred.value.trigger.poll_interval == 60.0  # type: ignore[attr-defined]


# -- job definitions ---------------------------------------------------------------------------------------------


def test_a_missing_job_is_created_with_the_anchors_defaults_explicit(glue: LocalGlue, bucket: str) -> None:
    """The anchor's example parameters create the job: role name as is, one concurrent run, no retries, its text."""
    op = operator(
        script_location=f"s3://{bucket}/etl.py",
        s3_bucket=bucket,
        iam_role_name=ROLE,
        create_job_kwargs={"GlueVersion": "3.0", "NumberOfWorkers": 2, "WorkerType": "G.1X"},
        wait_for_completion=False,
    )
    run(op)
    created = job(glue)
    assert created["Role"] == ROLE
    assert created["Command"]["Name"] == "glueetl"
    assert created["Command"]["ScriptLocation"] == f"s3://{bucket}/etl.py"
    assert (created["GlueVersion"], created["WorkerType"], created["NumberOfWorkers"]) == ("3.0", "G.1X", 2)
    assert created["ExecutionProperty"] == {"MaxConcurrentRuns": 1}
    assert (created["MaxRetries"], created["Description"]) == (0, "AWS Glue Job with Airflow")
    assert "LogUri" not in created
    assert writes(glue) == {"CreateJob": 1}
    assert not {"GetRole", "PutObject"} & set(glue.calls())


def test_ten_dpus_are_the_default_where_glue_allows_a_capacity(glue: LocalGlue, bucket: str) -> None:
    """Without workers, a pre-2.0 Spark job gets MaxCapacity 10; num_of_dpus, job_desc, limits are sent as given."""
    run(operator(script_location=f"s3://{bucket}/etl.py", iam_role_name=ROLE))
    assert job(glue)["MaxCapacity"] == 10.0
    glue.client().delete_job(JobName=JOB)
    run(
        operator(
            script_location=f"s3://{bucket}/etl.py",
            iam_role_arn=f"arn:aws:iam::123456789012:role/{ROLE}",
            num_of_dpus=4,
            job_desc="nightly",
            concurrent_run_limit=3,
            retry_limit=2,
            create_job_kwargs={"GlueVersion": "1.0", "DefaultArguments": {"--x": "1"}, "Tags": {"team": "data"}},
        )
    )
    created = job(glue)
    assert (created["MaxCapacity"], created["Description"], created["MaxRetries"]) == (4.0, "nightly", 2)
    assert created["ExecutionProperty"] == {"MaxConcurrentRuns": 3}
    assert created["Role"] == f"arn:aws:iam::123456789012:role/{ROLE}"
    assert created["DefaultArguments"] == {"--x": "1"}


def test_glue_2_without_workers_gets_no_max_capacity(glue: LocalGlue, bucket: str) -> None:
    """AWS refuses MaxCapacity for Glue 2.0+: the anchor's 10 DPUs are not sent; an explicit one names num_of_dpus."""
    run(operator(script_location=f"s3://{bucket}/etl.py", iam_role_name=ROLE, create_job_kwargs={"GlueVersion": "4.0"}))
    assert job(glue).get("MaxCapacity") in (None, 10.0)  # Glue's own default, if the local Glue fills one
    glue.reset_counters()
    op = operator(
        script_location=f"s3://{bucket}/etl.py",
        iam_role_name=ROLE,
        num_of_dpus=5,
        create_job_kwargs={"GlueVersion": "4.0"},
    )
    glue.client().delete_job(JobName=JOB)
    glue.reset_counters()
    with pytest.raises(GlueJobRunParameterError, match="num_of_dpus"):
        run(op)
    assert glue.calls() == {}


def test_an_existing_job_is_left_alone_without_update_config(glue: LocalGlue, bucket: str, script: Path) -> None:
    """update_config=False and the job exists: one GetJob, no write, no upload, then the run."""
    glue.create_job(JOB)
    glue.reset_counters()
    op = operator(
        script_location=str(script),
        s3_bucket=bucket,
        iam_role_name=ROLE,
        create_job_kwargs={"NumberOfWorkers": 5, "WorkerType": "G.1X"},
    )
    run(op)
    assert writes(glue) == {}
    assert (glue.calls()["GetJob"], glue.calls()["StartJobRun"]) == (1, 1)
    assert job(glue)["NumberOfWorkers"] == 2


def test_update_config_changes_only_the_fields_the_dag_gives(glue: LocalGlue, bucket: str) -> None:
    """update_config=True: NumberOfWorkers changes; MaxRetries and the description set elsewhere are kept."""
    glue.create_job(JOB)
    glue.client().update_job(
        JobName=JOB, JobUpdate={**_update_of(job(glue)), "MaxRetries": 3, "Description": "from Terraform"}
    )
    glue.reset_counters()
    run(
        operator(
            update_config=True,
            create_job_kwargs={"GlueVersion": "4.0", "WorkerType": "G.1X", "NumberOfWorkers": 5},
        )
    )
    updated = job(glue)
    assert updated["NumberOfWorkers"] == 5
    assert (updated["MaxRetries"], updated["Description"]) == (3, "from Terraform")
    assert writes(glue) == {"UpdateJob": 1}
    glue.reset_counters()
    run(
        operator(
            update_config=True, create_job_kwargs={"GlueVersion": "4.0", "WorkerType": "G.1X", "NumberOfWorkers": 5}
        )
    )
    assert writes(glue) == {}


def _update_of(current: dict[str, Any]) -> dict[str, Any]:
    keep = ("Role", "Command", "GlueVersion", "WorkerType", "NumberOfWorkers", "DefaultArguments", "ExecutionProperty")
    return {key: current[key] for key in keep if key in current}


def test_a_local_script_is_uploaded_once_content_addressed(glue: LocalGlue, bucket: str, script: Path) -> None:
    """A local script_location goes under artifacts/glue-scripts/<job>/<sha>/; a second run uploads nothing."""
    kwargs = {"script_location": str(script), "s3_bucket": bucket, "iam_role_name": ROLE, "replace_script_file": True}
    run(operator(**kwargs, create_job_kwargs={"GlueVersion": "4.0", "WorkerType": "G.1X", "NumberOfWorkers": 2}))
    location = job(glue)["Command"]["ScriptLocation"]
    assert location.startswith(f"s3://{bucket}/artifacts/glue-scripts/{JOB}/")
    assert location.endswith("/etl.py")
    assert writes(glue) == {"PutObject": 1, "CreateJob": 1}
    glue.reset_counters()
    run(operator(**kwargs, update_config=True))
    assert writes(glue) == {}


def test_a_local_script_without_s3_bucket_names_s3_bucket(glue: LocalGlue, script: Path) -> None:
    """A local script needs s3_bucket: the error names it, before any AWS call."""
    with pytest.raises(GlueJobRunParameterError, match="s3_bucket"):
        run(operator(script_location=str(script), iam_role_name=ROLE))
    assert glue.calls() == {}


def test_creating_without_a_role_names_the_role_parameters(glue: LocalGlue, bucket: str) -> None:
    """A missing job and no role: the error names iam_role_name, after one GetJob and before any write."""
    with pytest.raises(GlueJobRunParameterError, match="iam_role_name"):
        run(operator(script_location=f"s3://{bucket}/etl.py"))
    assert writes(glue) == {}


def test_bad_run_input_fails_before_the_job_is_created(glue: LocalGlue, bucket: str) -> None:
    """A run option Glue would refuse fails the task before CreateJob."""
    op = operator(script_location=f"s3://{bucket}/etl.py", iam_role_name=ROLE, run_job_kwargs={"WorkerType": "G.99X"})
    with pytest.raises(GlueJobRunParameterError, match="worker_type"):
        run(op)
    assert glue.calls() == {}


def test_secret_default_arguments_are_masked_in_the_definition_log(
    glue: LocalGlue, bucket: str, logs: list[dict[str, Any]]
) -> None:
    """A DefaultArguments value under a sensitive name never reaches the task log."""
    run(
        operator(
            script_location=f"s3://{bucket}/etl.py",
            iam_role_name=ROLE,
            create_job_kwargs={"DefaultArguments": {"--db-password": "hunter2-secret"}},
        )
    )
    assert not any("hunter2-secret" in message for message in log_messages(logs))


# -- the sensor ----------------------------------------------------------------------------------------------------


def test_the_sensor_waits_on_the_operators_run_and_returns_its_id(glue: LocalGlue) -> None:
    """GlueJobSensor succeeds on the SUCCEEDED run the operator started and returns the run id."""
    glue.create_job(JOB)
    run_id = run(operator(wait_for_completion=False))
    sensor = GlueJobSensor(task_id="wait", job_name=JOB, run_id=run_id, poke_interval=1)
    assert sensor.poke(task_context()).xcom_value == run_id  # type: ignore[arg-type,union-attr]


def test_error_fails_the_sensor_where_the_anchor_polls_on(glue: LocalGlue) -> None:
    """A run that ended ERROR fails GlueJobSensor (the Amazon provider's sensor keeps poking it)."""
    glue.create_job(JOB, default_arguments={"--local-glue-final-state": "ERROR"})
    run_id = glue.client().start_job_run(JobName=JOB)["JobRunId"]
    sensor = GlueJobSensor(task_id="wait", job_name=JOB, run_id=run_id)
    with pytest.raises(GlueJobRunFailedError):
        sensor.poke(task_context())  # type: ignore[arg-type]
