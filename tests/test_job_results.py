"""Job results: the operator and the sensor read the JSON object a Glue job wrote, against the local Glue and its S3.

The local Glue runs no scripts, so the test stands in for the job: on the task's first read of its run (a botocore
``after-call`` hook on the task's own Glue client, the network boundary), it writes the result to the URI in the
run's arguments and ends the run. Deferred tests write the object while the run is RUNNING, then end it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from airflow_versions import TaskDeferred
from botocore.exceptions import ClientError
from operator_fakes import FakeStateStore, FakeTI, task_context
from support import first_event, s3_client

from airflow_glue_runs._internal.results.location import RESULT_FOLDER
from airflow_glue_runs._internal.results.reader import is_stale
from airflow_glue_runs._internal.run.waiting import Resolution, WaitResult
from airflow_glue_runs._internal.start.arguments import MASK
from airflow_glue_runs.amazon import GlueJobOperator, GlueJobSensor
from airflow_glue_runs.exceptions import GlueJobRunFailedError, GlueJobRunParameterError, GlueJobRunResultError
from airflow_glue_runs.glue_job_result import MAX_RESULT_BYTES, RESULT_URI_ARGUMENT
from airflow_glue_runs.job_run import JobRun, JobRunState
from airflow_glue_runs.operators import JOB_RESULT_XCOM_KEY, RUN_ID_XCOM_KEY, SUMMARY_XCOM_KEY, GlueJobRunOperator
from airflow_glue_runs.sensors import GlueJobRunSensor

if TYPE_CHECKING:
    from airflow_glue_runs.local_glue import LocalGlue

JOB = "counting"
BUCKET = "glue-temp"
TEMP_DIR = f"s3://{BUCKET}/tmp/"
RESULT = {"rows": 1234, "output": "s3://out/part-0.csv", "by_day": [{"day": "2026-01-01", "rows": 1234}]}


def make_job(glue: LocalGlue, **defaults: str) -> None:
    """A job that runs until the test ends its run, with a --TempDir in a bucket that exists; counters reset."""
    s3_client(glue).create_bucket(Bucket=BUCKET)
    glue.create_job(JOB, default_arguments={"--TempDir": TEMP_DIR, "--local-glue-duration": "600", **defaults})
    glue.reset_counters()


def operator(**kwargs: Any) -> GlueJobRunOperator:
    kwargs.setdefault("job_name", JOB)
    kwargs.setdefault("poll_interval", 0.05)
    kwargs.setdefault("deferrable", False)
    kwargs.setdefault("job_result", "required")
    return GlueJobRunOperator(task_id="glue", **kwargs)


def put(glue: LocalGlue, uri: str, body: bytes | dict[str, Any] | list[Any]) -> None:
    """Write an object at ``uri`` as the job would."""
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    s3_client(glue).put_object(Bucket=bucket, Key=key, Body=data, ContentType="application/json")


def run_uri(glue: LocalGlue, run_id: str) -> str:
    """The result URI in the run's own arguments (GetJobRun)."""
    return str(glue.client().get_job_run(JobName=JOB, RunId=run_id)["JobRun"]["Arguments"][RESULT_URI_ARGUMENT])


def the_job(glue: LocalGlue, task: Any, body: Any = RESULT, *, state: str = "SUCCEEDED") -> list[str]:
    """Stand in for the Glue job: on the task's first read of its run, write ``body`` (None: nothing) to the run's
    result URI and end the run in ``state``. Return the URIs written to."""
    written: list[str] = []

    def after_get_job_run(parsed: dict[str, Any], **_: Any) -> None:
        run = parsed.get("JobRun") or {}
        if written or run.get("JobRunState") != "RUNNING":
            return
        uri = (run.get("Arguments") or {}).get(RESULT_URI_ARGUMENT, "")
        written.append(uri)
        if body is not None:
            put(glue, uri, body)
        glue.set_run_state(JOB, run["Id"], state, error_message="Row 17 is malformed" if state == "FAILED" else None)

    task.hook.glue.meta.events.register("after-call.glue.GetJobRun", after_get_job_run)
    return written


# -- parameters ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "parameter", "match"),
    [
        (lambda: operator(job_result="yes"), "job_result", "not one of None"),
        (lambda: operator(job_result=True), "job_result", "not one of None"),
        (lambda: operator(return_job_result="yes"), "return_job_result", "True or False"),
        (lambda: operator(job_result=None, return_job_result=True), "return_job_result", "needs job_result"),
        (lambda: operator(job_result=None, job_result_prefix="s3://b/p"), "job_result_prefix", "needs job_result"),
        (lambda: operator(job_result_prefix="bucket/results"), "job_result_prefix", "s3://bucket"),
        (lambda: operator(job_result_prefix="s3:///x"), "job_result_prefix", "names no bucket"),
        (lambda: operator(wait_for_completion=False, return_job_result=True), "return_job_result", "needs wait_for"),
        (lambda: GlueJobRunSensor(task_id="s", job_name=JOB, job_result="always"), "job_result", "not one of"),
        (lambda: GlueJobRunSensor(task_id="s", job_name=JOB, return_job_result=True), "return_job_result", "needs"),
        (lambda: GlueJobOperator(task_id="a", job_name=JOB, job_result="maybe"), "job_result", "not one of"),
        (lambda: GlueJobSensor(task_id="a", job_name=JOB, run_id="jr_1", job_result=1), "job_result", "not one of"),
    ],
)
def test_bad_result_options_are_refused_when_the_dag_is_parsed(
    glue: LocalGlue, make: Callable[[], Any], parameter: str, match: str
) -> None:
    """Each bad result option fails at construction, naming the parameter and what is allowed; nothing is sent."""
    with pytest.raises(GlueJobRunParameterError, match=match) as info:
        make()
    assert info.value.parameter == parameter
    assert glue.calls() == {}


def test_a_result_uri_in_the_arguments_is_refused_before_any_call(glue: LocalGlue) -> None:
    """With job_result the task sets the result URI itself: a user-given one fails before any AWS call."""
    make_job(glue)
    with pytest.raises(GlueJobRunParameterError, match="set by the task itself") as info:
        operator(arguments={RESULT_URI_ARGUMENT: "s3://x/y.json"}).execute(task_context())  # type: ignore[arg-type]
    assert info.value.parameter == "arguments"
    assert glue.calls() == {}


def test_without_a_prefix_or_temp_dir_the_task_fails_before_starting(glue: LocalGlue) -> None:
    """No job_result_prefix and no --TempDir on the run or the job: an error naming job_result_prefix, after the
    one GetJob that looked for it, and no StartJobRun."""
    glue.create_job(JOB)
    glue.reset_counters()
    with pytest.raises(GlueJobRunParameterError, match="neither the run's arguments nor the job's") as info:
        operator().execute(task_context())  # type: ignore[arg-type]
    assert info.value.parameter == "job_result_prefix"
    assert glue.calls() == {"GetJob": 1}


# -- the operator on the worker ------------------------------------------------------------------------------------


def test_a_succeeded_run_s_result_is_pushed_and_summarised(glue: LocalGlue) -> None:
    """On success the result is read once (one GetObject) and pushed under glue_job_result and in the summary;
    the URI is under the job's --TempDir, unique to the task; the return value stays the run id."""
    make_job(glue)
    ti = FakeTI()
    op = operator()
    written = the_job(glue, op)
    run_id = op.execute(task_context(ti))  # type: ignore[arg-type]
    assert run_id == ti.xcom(RUN_ID_XCOM_KEY)
    assert ti.xcom(JOB_RESULT_XCOM_KEY) == RESULT
    assert ti.xcom(SUMMARY_XCOM_KEY)["job_result"] == RESULT
    assert written == [run_uri(glue, run_id)]
    assert written[0].startswith(f"s3://{BUCKET}/tmp/{RESULT_FOLDER}/dag/glue/-1/")
    assert written[0].endswith(".json")
    calls = glue.calls()
    # One GetJob (the default prefix, shared with the masking of the result), one GetObject.
    assert (calls["StartJobRun"], calls["GetJob"], calls["GetObject"]) == (1, 1, 1)
    assert "HeadObject" not in calls


def test_return_job_result_makes_the_result_the_return_value(glue: LocalGlue) -> None:
    """With return_job_result the task returns the result; the run id stays in glue_job_run_id."""
    make_job(glue)
    ti = FakeTI()
    op = operator(return_job_result=True, job_result_prefix="s3://glue-temp/results")
    the_job(glue, op)
    assert op.execute(task_context(ti)) == RESULT  # type: ignore[arg-type]
    assert run_uri(glue, ti.xcom(RUN_ID_XCOM_KEY)).startswith(f"s3://{BUCKET}/results/{RESULT_FOLDER}/")


def test_the_run_s_own_temp_dir_wins_without_reading_the_job(glue: LocalGlue) -> None:
    """A --TempDir in the task's arguments is the prefix; no GetJob is needed to start (one masks the result)."""
    make_job(glue)
    ti = FakeTI()
    op = operator(arguments={"--TempDir": f"s3://{BUCKET}/run-temp"})
    the_job(glue, op)
    run_id = op.execute(task_context(ti))  # type: ignore[arg-type]
    assert run_uri(glue, run_id).startswith(f"s3://{BUCKET}/run-temp/{RESULT_FOLDER}/")
    assert glue.calls()["GetJob"] == 1


@pytest.mark.parametrize("mode", ["required", "optional"])
def test_a_missing_result_fails_only_when_required(glue: LocalGlue, mode: str) -> None:
    """No object after SUCCEEDED: "required" fails with GlueJobRunResultError naming the URI; "optional" succeeds
    with nothing pushed but the summary's job_result None."""
    make_job(glue)
    ti = FakeTI()
    op = operator(job_result=mode, return_job_result=True)
    written = the_job(glue, op, body=None)
    if mode == "required":
        with pytest.raises(GlueJobRunResultError, match="no object was written") as info:
            op.execute(task_context(ti))  # type: ignore[arg-type]
        assert info.value.uri == written[0]
        assert written[0] in str(info.value)
    else:
        assert op.execute(task_context(ti)) is None  # type: ignore[arg-type]
    assert JOB_RESULT_XCOM_KEY not in [key for key, _ in ti.pushed]
    assert ti.xcom(SUMMARY_XCOM_KEY)["job_result"] is None
    assert ti.xcom(SUMMARY_XCOM_KEY)["state"] == "SUCCEEDED"


def test_a_failed_run_s_result_is_pushed_then_the_task_fails_for_the_run(glue: LocalGlue) -> None:
    """A run that FAILED still has its (partial) result read and pushed; the task then fails as before."""
    make_job(glue)
    ti = FakeTI()
    op = operator()
    the_job(glue, op, body={"rows_done": 17, "stage": "parse"}, state="FAILED")
    with pytest.raises(GlueJobRunFailedError, match="Row 17 is malformed"):
        op.execute(task_context(ti))  # type: ignore[arg-type]
    assert ti.xcom(JOB_RESULT_XCOM_KEY) == {"rows_done": 17, "stage": "parse"}
    assert ti.xcom(SUMMARY_XCOM_KEY)["job_result"] == {"rows_done": 17, "stage": "parse"}


@pytest.mark.parametrize("body", [None, b"[1, 2]"])
def test_a_failed_run_without_a_usable_result_fails_for_the_run_only(glue: LocalGlue, body: bytes | None) -> None:
    """A missing or unusable result never hides why the run failed: the run's own error is raised."""
    make_job(glue)
    op = operator()
    the_job(glue, op, body=body, state="FAILED")
    with pytest.raises(GlueJobRunFailedError):
        op.execute(task_context())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (b"[1, 2]", "holds a JSON array, not a JSON object"),
        (b'"done"', "holds a JSON string, not a JSON object"),
        (b"{not json", "not UTF-8 JSON"),
        (b"\xff\xfe", "not UTF-8 JSON"),
        (json.dumps({"blob": "x" * MAX_RESULT_BYTES}).encode(), f"over the limit of {MAX_RESULT_BYTES} bytes"),
    ],
)
def test_an_unusable_result_fails_a_succeeded_run_s_task(glue: LocalGlue, body: bytes, match: str) -> None:
    """Not a JSON object, not JSON, or over 256 KiB: GlueJobRunResultError naming the URI, even with "optional";
    nothing of it is pushed, and the read is one ranged GetObject."""
    make_job(glue)
    ti = FakeTI()
    op = operator(job_result="optional")
    written = the_job(glue, op, body=body)
    with pytest.raises(GlueJobRunResultError, match=match) as info:
        op.execute(task_context(ti))  # type: ignore[arg-type]
    assert written[0] in str(info.value)
    assert JOB_RESULT_XCOM_KEY not in [key for key, _ in ti.pushed]
    assert glue.calls()["GetObject"] == 1


def test_access_denied_names_the_permission_and_the_uri(glue: LocalGlue) -> None:
    """S3 refusing GetObject (injected on the task's S3 client) fails the task with an error naming s3:GetObject
    and the URI."""
    make_job(glue)
    op = operator()
    written = the_job(glue, op)

    def denied_client() -> Any:
        client = op.hook.service_client("s3")

        def deny(**_: Any) -> None:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetObject")

        client.meta.events.register("before-call.s3.GetObject", deny)
        return client

    op._results.s3_client = denied_client
    with pytest.raises(GlueJobRunResultError, match="s3:GetObject") as info:
        op.execute(task_context())  # type: ignore[arg-type]
    assert written[0] in str(info.value)


def test_secret_values_never_reach_xcom(glue: LocalGlue) -> None:
    """Secret argument values the job echoes in its result (in values, nested, or as keys) are masked in XCom and
    the summary, those of the task's arguments and of the job's DefaultArguments alike."""
    make_job(glue, **{"--api-token": "job-default-token-77"})
    ti = FakeTI()
    op = operator(arguments={"--db-password": "hunter2-secret", "--day": "2026-01-01"})
    echoed = {
        "dsn": "postgres://etl:hunter2-secret@db/x",
        "nested": [{"token": "job-default-token-77"}],
        "hunter2-secret": 1,
        "day": "2026-01-01",
    }
    the_job(glue, op, body=echoed)
    op.execute(task_context(ti))  # type: ignore[arg-type]
    expected = {"dsn": f"postgres://etl:{MASK}@db/x", "nested": [{"token": MASK}], MASK: 1, "day": "2026-01-01"}
    assert ti.xcom(JOB_RESULT_XCOM_KEY) == expected
    pushed = json.dumps(ti.pushed)
    assert "hunter2-secret" not in pushed
    assert "job-default-token-77" not in pushed


# -- retries and deferral ------------------------------------------------------------------------------------------


def test_a_retry_that_reattaches_reads_the_run_s_own_uri(glue: LocalGlue) -> None:
    """Try 2 reattaches to try 1's run (no second StartJobRun) and reads the result at the URI that run carries,
    not at a new one."""
    make_job(glue)
    store = FakeStateStore()
    first = operator(deferrable=True)
    with pytest.raises(TaskDeferred):
        first.execute(task_context(FakeTI(), store))  # type: ignore[arg-type]
    run_id = store.values["airflow_glue_runs.job_run"]["run_id"]
    uri = run_uri(glue, run_id)
    put(glue, uri, RESULT)
    glue.set_run_state(JOB, run_id, "SUCCEEDED")
    ti = FakeTI(try_number=2)
    second = operator(return_job_result=True)
    assert second.execute(task_context(ti, store)) == RESULT  # type: ignore[arg-type]
    assert ti.xcom(RUN_ID_XCOM_KEY) == run_id
    assert glue.calls()["StartJobRun"] == 1
    assert glue.run_count(JOB) == 1


@pytest.mark.parametrize("fault", ["drop", "server_error"])
def test_a_resent_start_job_run_carries_the_same_uri(
    glue: LocalGlue, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    """StartJobRun failing before Glue acted is sent again (after a scan) with the same result URI: the URI is
    decided once per start, and the task reads the result of the one run at it."""
    from airflow_glue_runs._internal.start import reattach

    monkeypatch.setattr(reattach, "START_BACKOFF", 0.0)
    make_job(glue)
    glue.inject_fault("StartJobRun", fault)
    op = operator()
    sent: list[str] = []
    op.start_hook.glue.meta.events.register(
        "before-parameter-build.glue.StartJobRun",
        lambda params, **_: sent.append(params["Arguments"][RESULT_URI_ARGUMENT]),
    )
    written = the_job(glue, op)
    op.execute(task_context())  # type: ignore[arg-type]
    assert len(sent) == 2
    assert sent[0] == sent[1] == written[0]
    assert glue.run_count(JOB) == 1


@pytest.mark.asyncio
async def test_a_deferred_task_reads_the_result_when_it_resumes_never_in_the_trigger(glue: LocalGlue) -> None:
    """The URI travels in the defer kwargs; the trigger's event carries no result content (nor the URI); the
    resumed task reads the object once (GetObject) and masks it with the job's defaults (GetJob)."""
    make_job(glue)
    ti = FakeTI()
    with pytest.raises(TaskDeferred) as info:
        operator(deferrable=True).execute(task_context(ti))  # type: ignore[arg-type]
    deferred = info.value
    run_id = ti.xcom(RUN_ID_XCOM_KEY)
    uri = run_uri(glue, run_id)
    assert deferred.kwargs == {"job_result_uri": uri}
    marker = {"rows": 987654321, "note": "only-in-the-result-object"}
    put(glue, uri, marker)
    glue.set_run_state(JOB, run_id, "SUCCEEDED")
    event = await first_event(deferred.trigger)
    payload = json.dumps(event.payload)
    assert "987654321" not in payload
    assert "only-in-the-result-object" not in payload
    assert uri not in payload
    glue.reset_counters()
    resumed = operator(deferrable=True, return_job_result=True)
    resumed_ti = FakeTI()
    value = resumed.execute_complete(task_context(resumed_ti), event.payload, **deferred.kwargs)  # type: ignore[arg-type]
    assert value == marker
    assert resumed_ti.xcom(JOB_RESULT_XCOM_KEY) == marker
    assert glue.calls() == {"GetObject": 1, "GetJob": 1}


def test_a_resume_without_the_defer_kwargs_reads_the_uri_from_the_run(glue: LocalGlue) -> None:
    """Resumed without ``job_result_uri`` (as dag.test() does), the task reads its run once (GetJobRun) for the
    URI in the run's own arguments."""
    make_job(glue)
    ti = FakeTI()
    with pytest.raises(TaskDeferred):
        operator(deferrable=True).execute(task_context(ti))  # type: ignore[arg-type]
    run_id = ti.xcom(RUN_ID_XCOM_KEY)
    put(glue, run_uri(glue, run_id), RESULT)
    glue.set_run_state(JOB, run_id, "SUCCEEDED")
    run = JobRun.from_api(glue.client().get_job_run(JobName=JOB, RunId=run_id)["JobRun"])
    event = WaitResult(
        resolution=Resolution.SUCCEEDED, job_name=JOB, run_id=run_id, message="succeeded", run=run
    ).without_arguments()
    glue.reset_counters()
    assert operator(return_job_result=True).execute_complete(task_context(), event.to_json()) == RESULT  # type: ignore[arg-type]
    assert glue.calls() == {"GetJobRun": 1, "GetObject": 1, "GetJob": 1}


def _event_for(run_id: str, *, started_on: datetime) -> dict[str, Any]:
    run = JobRun(id=run_id, job_name=JOB, state=JobRunState.SUCCEEDED, started_on=started_on)
    message = f"Glue job run {run_id} succeeded."
    return WaitResult(resolution=Resolution.SUCCEEDED, job_name=JOB, run_id=run_id, message=message, run=run).to_json()


def test_an_object_older_than_the_run_is_refused_as_stale(glue: LocalGlue) -> None:
    """An object last written before the run started (a leftover at that key) is refused, naming both times."""
    make_job(glue)
    uri = f"s3://{BUCKET}/tmp/{RESULT_FOLDER}/dag/glue/-1/old.json"
    put(glue, uri, RESULT)
    event = _event_for("jr_1", started_on=datetime.now(UTC) + timedelta(hours=1))
    with pytest.raises(GlueJobRunResultError, match="before the run started"):
        operator().execute_complete(task_context(), event, job_result_uri=uri)  # type: ignore[arg-type]


def test_staleness_allows_for_s3_s_whole_seconds() -> None:
    """S3's LastModified is truncated to the second: an object of the run's first second is fresh, one of the
    second before is stale."""
    started = datetime(2026, 1, 1, 10, 0, 5, 700_000, tzinfo=UTC)
    assert not is_stale(datetime(2026, 1, 1, 10, 0, 5, tzinfo=UTC), started)
    assert not is_stale(datetime(2026, 1, 1, 10, 0, 6, tzinfo=UTC), started)
    assert is_stale(datetime(2026, 1, 1, 10, 0, 4, tzinfo=UTC), started)
    assert not is_stale(None, started)


# -- the sensor and the Amazon names -------------------------------------------------------------------------------


def _start_with_uri(glue: LocalGlue) -> tuple[str, str]:
    uri = f"s3://{BUCKET}/elsewhere/result.json"
    run_id = glue.client().start_job_run(JobName=JOB, Arguments={RESULT_URI_ARGUMENT: uri})["JobRunId"]
    return run_id, uri


def test_the_sensor_reads_the_result_of_the_run_it_waited_on(glue: LocalGlue) -> None:
    """The sensor takes the URI from the run's arguments and pushes the result (or returns it)."""
    make_job(glue)
    run_id, uri = _start_with_uri(glue)
    put(glue, uri, RESULT)
    glue.set_run_state(JOB, run_id, "SUCCEEDED")
    ti = FakeTI()
    sensor = GlueJobRunSensor(task_id="wait", job_name=JOB, run_id=run_id, job_result="required", poke_interval=0.05)
    assert sensor.execute(task_context(ti)) == run_id  # type: ignore[arg-type]
    assert ti.xcom(JOB_RESULT_XCOM_KEY) == RESULT
    assert glue.calls()["GetObject"] == 1


@pytest.mark.asyncio
async def test_the_deferred_sensor_reads_the_run_again_once_for_its_uri(glue: LocalGlue) -> None:
    """After a deferral the sensor reads the run once more (its arguments hold the URI and the secrets) and the
    object once; the trigger's event holds no result content."""
    make_job(glue)
    run_id, uri = _start_with_uri(glue)
    sensor = GlueJobRunSensor(task_id="wait", job_name=JOB, run_id=run_id, job_result="required", deferrable=True)
    with pytest.raises(TaskDeferred) as info:
        sensor.execute(task_context())  # type: ignore[arg-type]
    put(glue, uri, {"rows": 555444333})
    glue.set_run_state(JOB, run_id, "SUCCEEDED")
    event = await first_event(info.value.trigger)
    assert "555444333" not in json.dumps(event.payload)
    glue.reset_counters()
    resumed = GlueJobRunSensor(
        task_id="wait", job_name=JOB, run_id=run_id, job_result="optional", return_job_result=True, deferrable=True
    )
    assert resumed.execute_complete(task_context(), event.payload) == {"rows": 555444333}  # type: ignore[arg-type]
    assert glue.calls() == {"GetJobRun": 1, "GetObject": 1, "GetJob": 1}


def test_an_operator_that_does_not_wait_hands_the_uri_to_a_sensor(glue: LocalGlue) -> None:
    """With wait_for_completion=False the operator sends a result URI and reads nothing; the sensor downstream
    reads the result at the URI of the run it waits on."""
    make_job(glue)
    ti = FakeTI()
    run_id = operator(wait_for_completion=False).execute(task_context(ti))  # type: ignore[arg-type]
    assert "GetObject" not in glue.calls()
    assert JOB_RESULT_XCOM_KEY not in [key for key, _ in ti.pushed]
    put(glue, run_uri(glue, run_id), RESULT)
    glue.set_run_state(JOB, run_id, "SUCCEEDED")
    sensor = GlueJobRunSensor(
        task_id="wait", job_name=JOB, run_id=run_id, job_result="required", return_job_result=True
    )
    assert sensor.execute(task_context()) == RESULT  # type: ignore[arg-type]


def test_the_amazon_operator_passes_the_options_through(glue: LocalGlue) -> None:
    """airflow_glue_runs.amazon.GlueJobOperator takes job_result, job_result_prefix and return_job_result."""
    make_job(glue)
    op = GlueJobOperator(
        task_id="submit",
        job_name=JOB,
        job_poll_interval=0.05,
        job_result="required",
        job_result_prefix=f"s3://{BUCKET}/amazon",
        return_job_result=True,
    )
    ti = FakeTI()
    the_job(glue, op)
    assert op.execute(task_context(ti)) == RESULT  # type: ignore[arg-type]
    assert run_uri(glue, ti.xcom(RUN_ID_XCOM_KEY)).startswith(f"s3://{BUCKET}/amazon/{RESULT_FOLDER}/")


def test_the_amazon_sensor_passes_the_options_through(glue: LocalGlue) -> None:
    """airflow_glue_runs.amazon.GlueJobSensor takes job_result and return_job_result."""
    make_job(glue)
    run_id, uri = _start_with_uri(glue)
    put(glue, uri, RESULT)
    glue.set_run_state(JOB, run_id, "SUCCEEDED")
    sensor = GlueJobSensor(task_id="wait", job_name=JOB, run_id=run_id, job_result="required", return_job_result=True)
    assert sensor.execute(task_context()) == RESULT  # type: ignore[arg-type]


def test_the_openlineage_run_facet_carries_the_result(glue: LocalGlue) -> None:
    """The task's COMPLETE event's glueJobRun facet has the (masked) job result."""
    pytest.importorskip("airflow.providers.openlineage")
    make_job(glue)
    op = operator()
    the_job(glue, op)
    op.execute(task_context())  # type: ignore[arg-type]
    facets = op.get_openlineage_facets_on_complete(None).run_facets
    assert facets["glueJobRun"].jobResult == RESULT
