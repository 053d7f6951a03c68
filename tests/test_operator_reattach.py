"""No duplicate runs, at unit level: identity, records, the decision, the token scan and the at-most-once start."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError
from operator_fakes import FakeStateStore, FakeTI, task_context

from airflow_glue_runs._internal.start import reattach
from airflow_glue_runs._internal.start.ledger import MARKER_ARGUMENT, STATE_KEY, RunIdentity, RunRecord
from airflow_glue_runs._internal.start.reattach import (
    Plan,
    is_ambiguous_start_error,
    newest_marked,
    plan_for,
    start_once,
)
from airflow_glue_runs.exceptions import (
    GlueAccessDeniedError,
    GlueApiError,
    GlueConcurrentRunsExceededError,
    GlueInternalServiceError,
    GlueInvalidInputError,
    GlueJobRunFailedError,
    GlueJobRunStartUnconfirmedError,
    GlueThrottlingError,
)
from airflow_glue_runs.job_run import JobRun, JobRunState
from airflow_glue_runs.operators import GlueJobRunOperator

if TYPE_CHECKING:
    from airflow_glue_runs.local_glue import LocalGlue

JOB = "nightly"
LOG = logging.getLogger("test")


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """StartJobRun retries wait 0 s in these tests (the waits are not what they test)."""
    monkeypatch.setattr(reattach, "START_BACKOFF", 0.0)


def identity(**changes: Any) -> RunIdentity:
    base: dict[str, Any] = {
        "dag_id": "dag",
        "dag_run_id": "manual__1",
        "run_after": "2026-01-01T00:00:00+00:00",
        "task_id": "glue",
        "map_index": -1,
        "generation": 2,
        "try_number": 1,
    }
    return RunIdentity(**{**base, **changes})


def test_token_ignores_the_try_but_not_the_generation() -> None:
    """Retries share a token; a Clear (new generation), another map index or a recreated DAG run do not."""
    token = identity().token
    assert identity(try_number=3).token == token
    assert len(token) == 40
    for change in ({"generation": 3}, {"map_index": 0}, {"run_after": "2026-01-02T00:00:00+00:00"}, {"task_id": "x"}):
        assert identity(**change).token != token, change


def test_identity_from_context() -> None:
    """The identity comes from the task instance (max_tries is the generation) and the DAG run's run_after."""
    ti = FakeTI(map_index=4, try_number=2, max_tries=5)
    found = RunIdentity.from_context(task_context(ti))
    assert (found.map_index, found.try_number, found.generation) == (4, 2, 5)
    assert found.run_after == "2026-01-01T00:00:00+00:00"


def test_record_round_trip_and_foreign_values() -> None:
    """Records survive the store's JSON; anything else under the key is ignored rather than trusted."""
    record = RunRecord(token="t", generation=1, job_name=JOB, run_id=None, try_number=1)
    assert RunRecord.from_json(record.to_json()) == record
    for foreign in (None, "jr_1", {"token": "t"}, {"token": "t", "generation": "x", "job_name": JOB, "run_id": None}):
        assert RunRecord.from_json(foreign) is None


@pytest.mark.parametrize(
    ("state", "plan"),
    [
        (JobRunState.STARTING, Plan.REATTACH),
        (JobRunState.RUNNING, Plan.REATTACH),
        (JobRunState.STOPPING, Plan.REATTACH),
        (JobRunState.WAITING, Plan.REATTACH),
        (JobRunState.SUCCEEDED, Plan.ADOPT),
        (JobRunState.FAILED, Plan.START),
        (JobRunState.ERROR, Plan.START),
        (JobRunState.STOPPED, Plan.START),
        (JobRunState.EXPIRED, Plan.START),
        (JobRunState.TIMEOUT, Plan.START),
    ],
)
def test_plan_for_every_state(state: JobRunState, plan: Plan) -> None:
    """Each of the ten states leads to one plan: wait while active or queued, adopt success, else start anew."""
    assert plan_for(JobRun(id="jr_1", state=state)) is plan
    assert plan_for(None) is Plan.START


def test_newest_marked_does_not_depend_on_order() -> None:
    """The newest run with the token wins whatever order GetJobRuns returns (AWS newest first, moto oldest)."""
    token = identity().token

    def run(run_id: str, day: int, marker: str | None) -> JobRun:
        arguments = {MARKER_ARGUMENT: marker} if marker else {}
        return JobRun(id=run_id, started_on=datetime(2026, 1, day, tzinfo=UTC), arguments=arguments)

    runs = [run("old", 1, token), run("new", 3, token), run("other", 4, "someone-else"), run("plain", 5, None)]
    assert newest_marked(runs, token).id == "new"  # type: ignore[union-attr]
    assert newest_marked(reversed(runs), token).id == "new"  # type: ignore[union-attr]
    assert newest_marked(runs[2:], token) is None


def _client_error(code: str, status: int) -> GlueApiError:
    cause = ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "op")
    error = GlueApiError("StartJobRun", code, "m")
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "ambiguous"),
    [
        (ConnectionClosedError(endpoint_url="http://x"), True),
        (EndpointConnectionError(endpoint_url="http://x"), True),
        (GlueThrottlingError("StartJobRun", "ThrottlingException", "slow down"), True),
        (GlueInternalServiceError("StartJobRun", "InternalServiceException", "oops"), True),
        (_client_error("ServiceUnavailable", 503), True),
        (_client_error("SomethingElse", 400), False),
        (GlueInvalidInputError("StartJobRun", "InvalidInputException", "bad"), False),
        (GlueAccessDeniedError("StartJobRun", "AccessDeniedException", "no"), False),
        (GlueConcurrentRunsExceededError("StartJobRun", "ConcurrentRunsExceededException", "full"), False),
        (ValueError("bug"), False),
    ],
)
def test_ambiguous_start_errors(error: BaseException, ambiguous: bool) -> None:
    """Dropped connections, throttling and 5xx may hide a created run; 4xx answers about the request do not."""
    assert is_ambiguous_start_error(error) is ambiguous


class Script:
    """A StartJobRun stand-in that raises the scripted errors in turn, then returns a run id."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "jr_new"


def test_start_once_adopts_the_run_a_lost_response_created() -> None:
    """After an unanswered StartJobRun, the run found by its token is adopted instead of starting another."""
    start = Script(ConnectionClosedError(endpoint_url="http://x"))
    found = JobRun(id="jr_lost", state=JobRunState.RUNNING)
    sleeps: list[float] = []
    assert start_once(start, lambda: found, log=LOG, backoff=1.0, sleep=sleeps.append) == ("jr_lost", found)
    assert start.calls == 1
    assert sleeps == [1.0]


def test_start_once_retries_when_nothing_was_created() -> None:
    """When the scan finds nothing, StartJobRun is tried again after a growing pause."""
    start = Script(
        GlueThrottlingError("StartJobRun", "ThrottlingException", "x"), ConnectionClosedError(endpoint_url="u")
    )
    sleeps: list[float] = []
    assert start_once(start, lambda: None, log=LOG, backoff=1.0, sleep=sleeps.append) == ("jr_new", None)
    assert start.calls == 3
    assert sleeps == [1.0, 2.0]


def test_start_once_gives_up_with_the_last_error() -> None:
    """After its attempts, start_once raises the last error (the next try's scan will still find a late run)."""
    start = Script(*(GlueThrottlingError("StartJobRun", "ThrottlingException", str(i)) for i in range(5)))
    with pytest.raises(GlueThrottlingError, match="3"):
        start_once(start, lambda: None, log=LOG, attempts=4, sleep=lambda _: None)
    assert start.calls == 4


def test_start_once_raises_clear_refusals_at_once() -> None:
    """A clear refusal (bad input, no slot on the first attempt) is raised without a scan or a retry."""
    for error in (
        GlueInvalidInputError("StartJobRun", "InvalidInputException", "bad"),
        GlueConcurrentRunsExceededError("StartJobRun", "ConcurrentRunsExceededException", "full"),
    ):
        start = Script(error)
        with pytest.raises(type(error)):
            start_once(start, pytest.fail, log=LOG, sleep=pytest.fail)
        assert start.calls == 1


def test_start_once_full_job_after_a_lost_response_means_look_again() -> None:
    """No free slot right after an unanswered attempt probably means our run holds it: scan before failing."""
    full = GlueConcurrentRunsExceededError("StartJobRun", "ConcurrentRunsExceededException", "full")
    late = JobRun(id="jr_late", state=JobRunState.RUNNING)
    scans = iter([None, late])
    start = Script(ConnectionClosedError(endpoint_url="u"), full)
    assert start_once(start, lambda: next(scans), log=LOG, sleep=lambda _: None) == ("jr_late", late)


# -- against the local Glue ------------------------------------------------------------------------------------


def op(**kwargs: Any) -> GlueJobRunOperator:
    kwargs.setdefault("poll_interval", 0.05)
    return GlueJobRunOperator(task_id="glue", job_name=JOB, deferrable=False, **kwargs)


def _start_marked(glue: LocalGlue, token: str, duration: str) -> str:
    arguments = {MARKER_ARGUMENT: token, "--local-glue-duration": duration}
    return glue.client().start_job_run(JobName=JOB, Arguments=arguments)["JobRunId"]


def test_retry_reattaches_to_an_active_run(glue: LocalGlue) -> None:
    """A retry whose recorded run is still running waits for it and starts nothing."""
    glue.create_job(JOB, max_concurrent_runs=2)
    store = FakeStateStore()
    first = op(wait_for_completion=False).execute(task_context(FakeTI(try_number=1), store))  # type: ignore[arg-type]
    glue.reset_counters()
    second = op(wait_for_completion=False).execute(task_context(FakeTI(try_number=2), store))  # type: ignore[arg-type]
    assert second == first
    assert "StartJobRun" not in glue.calls()
    assert glue.run_count(JOB) == 1


def test_retry_adopts_a_succeeded_run(glue: LocalGlue) -> None:
    """A retry whose recorded run SUCCEEDED succeeds with it, without a new run."""
    glue.create_job(JOB)
    store = FakeStateStore()
    first = op().execute(task_context(FakeTI(try_number=1), store))  # type: ignore[arg-type]
    glue.reset_counters()
    assert op().execute(task_context(FakeTI(try_number=2), store)) == first  # type: ignore[arg-type]
    assert glue.calls() == {"GetJobRun": 1}


def test_retry_replaces_a_failed_run(glue: LocalGlue) -> None:
    """A retry whose recorded run failed starts a new run, marked with the same token."""
    glue.create_job(JOB, default_arguments={"--local-glue-final-state": "FAILED"})
    store = FakeStateStore()
    with pytest.raises(GlueJobRunFailedError):
        op().execute(task_context(FakeTI(try_number=1), store))  # type: ignore[arg-type]
    first = store.values[STATE_KEY]["run_id"]
    with pytest.raises(GlueJobRunFailedError):
        op().execute(task_context(FakeTI(try_number=2), store))  # type: ignore[arg-type]
    assert store.values[STATE_KEY]["run_id"] != first
    assert glue.run_count(JOB) == 2


def test_clear_starts_a_fresh_run(glue: LocalGlue) -> None:
    """A Clear (max_tries raised) starts a fresh run even though the earlier run succeeded."""
    glue.create_job(JOB)
    store = FakeStateStore()
    first = op().execute(task_context(FakeTI(try_number=1, max_tries=0), store))  # type: ignore[arg-type]
    after_clear = FakeTI(try_number=2, max_tries=1)
    assert op().execute(task_context(after_clear, store)) != first  # type: ignore[arg-type]
    assert glue.run_count(JOB) == 2


def test_pending_record_is_resolved_by_the_marker(glue: LocalGlue) -> None:
    """A record without run id (the worker died after StartJobRun) is resolved by a token scan, not a new start."""
    glue.create_job(JOB)
    store = FakeStateStore()
    ident = RunIdentity.from_context(task_context(FakeTI(try_number=1), store))
    store.set(STATE_KEY, RunRecord(ident.token, ident.generation, JOB, None, 1).to_json())
    run_id = _start_marked(glue, ident.token, "600")
    glue.reset_counters()
    assert op(wait_for_completion=False).execute(task_context(FakeTI(try_number=2), store)) == run_id  # type: ignore[arg-type]
    assert glue.calls()["GetJobRuns"] >= 1
    assert "StartJobRun" not in glue.calls()
    assert store.values[STATE_KEY]["run_id"] is None  # reattaching does not rewrite the record


def test_without_a_state_store_a_retry_scans_for_the_marker(glue: LocalGlue) -> None:
    """On Airflow before 3.3 (no task state store), a retry finds the earlier run by its marker."""
    glue.create_job(JOB)
    first_try = task_context(FakeTI(try_number=1), with_store=False)
    run_id = op(wait_for_completion=False).execute(first_try)  # type: ignore[arg-type]
    assert "GetJobRuns" not in glue.calls()  # a first try has nothing to look for
    glue.reset_counters()
    assert op().execute(task_context(FakeTI(try_number=2), with_store=False)) == run_id  # type: ignore[arg-type]
    assert "StartJobRun" not in glue.calls()
    # A Clear changes the token: the old run is not found.
    assert op().execute(task_context(FakeTI(try_number=3, max_tries=2), with_store=False)) != run_id  # type: ignore[arg-type]
    assert glue.run_count(JOB) == 2


@pytest.mark.parametrize("fault", ["drop", "server_error", "throttle", "unavailable"])
def test_start_retries_safely_when_the_request_failed(glue: LocalGlue, fault: str) -> None:
    """StartJobRun that failed before Glue acted is scanned for, then sent again: one run in the end."""
    glue.create_job(JOB)
    glue.inject_fault("StartJobRun", fault)
    run_id = op(wait_for_completion=False).execute(task_context())  # type: ignore[arg-type]
    assert glue.run_count(JOB) == 1
    assert glue.calls()["StartJobRun"] == 2
    assert glue.calls()["GetJobRuns"] >= 1
    assert run_id.startswith("jr_")


def test_start_is_never_resent_by_botocore(glue: LocalGlue) -> None:
    """botocore's own retries are off for StartJobRun: a clear refusal is one request, raised as is."""
    glue.create_job(JOB)
    glue.inject_fault("StartJobRun", "AccessDeniedException")
    with pytest.raises(GlueAccessDeniedError):
        op().execute(task_context())  # type: ignore[arg-type]
    assert glue.calls() == {"StartJobRun": 1}


def test_lost_response_is_adopted_not_repeated(glue: LocalGlue) -> None:
    """Glue started the run but the answer was lost: the marker scan finds it and no second run starts."""
    from botocore.exceptions import ConnectionClosedError as Closed

    glue.create_job(JOB, max_concurrent_runs=3)
    glue.inject_fault("StartJobRun", "drop_response")
    with pytest.raises(Closed):
        glue.client(config=_no_retries()).start_job_run(JobName=JOB)
    assert glue.run_count(JOB) == 1  # the fault itself: Glue acted, the client saw a dropped connection
    glue.inject_fault("StartJobRun", "drop_response")
    run_id = op(wait_for_completion=False).execute(task_context())  # type: ignore[arg-type]
    assert glue.run_count(JOB) == 2
    assert glue.calls()["StartJobRun"] == 2
    assert MARKER_ARGUMENT in glue.client().get_job_run(JobName=JOB, RunId=run_id)["JobRun"]["Arguments"]


def _no_retries() -> Any:
    from botocore.config import Config

    return Config(retries={"mode": "standard", "total_max_attempts": 1})


def test_clear_waits_for_the_run_it_stopped_before_starting_afresh(glue: LocalGlue) -> None:
    """After a Clear, the earlier run still STOPPING is waited for, so a one-slot job can take the fresh run."""
    # STOPPING lasts 3 s of real time: long enough that a loaded machine still reads it STOPPING right after the stop.
    plan = {"--local-glue-duration": "600", "--local-glue-stop-seconds": "3"}
    glue.create_job(JOB, max_concurrent_runs=1, default_arguments=plan)
    store = FakeStateStore()
    first = op(wait_for_completion=False, poll_interval=0.1).execute(
        task_context(FakeTI(try_number=1, max_tries=0), store)  # type: ignore[arg-type]
    )
    glue.client().batch_stop_job_run(JobName=JOB, JobRunIds=[first])  # what on_kill does when the user clears
    assert glue.client().get_job_run(JobName=JOB, RunId=first)["JobRun"]["JobRunState"] == "STOPPING"
    fresh = op(wait_for_completion=False, poll_interval=0.1).execute(
        task_context(FakeTI(try_number=2, max_tries=1), store)  # type: ignore[arg-type]
    )
    assert fresh != first
    assert glue.client().get_job_run(JobName=JOB, RunId=first)["JobRun"]["JobRunState"] == "STOPPED"
    assert glue.run_count(JOB) == 2


# -- a run id never lost when the marker search fails ---------------------------------------------------------


class Ticks:
    """A monotonic clock that advances one second per reading (the search's patience counts readings)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def _outage(times: int) -> Any:
    """A search that fails with a Glue 5xx ``times`` times, then answers with the run."""
    found = JobRun(id="jr_found", state=JobRunState.RUNNING)
    errors = [GlueInternalServiceError("GetJobRuns", "InternalServiceException", f"outage {i}") for i in range(times)]

    def find() -> JobRun | None:
        if errors:
            raise errors.pop(0)
        return found

    return find


def test_start_once_keeps_looking_through_a_search_outage(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failing search is retried (pauses growing, capped) and the run found later is adopted; no second start."""
    monkeypatch.setattr(reattach, "_clock", Ticks())
    monkeypatch.setattr(reattach, "SEARCH_PAUSE", 5.0)
    monkeypatch.setattr(reattach, "SEARCH_PAUSE_MAX", 20.0)
    start = Script(ConnectionClosedError(endpoint_url="u"))
    sleeps: list[float] = []
    run_id, found = start_once(start, _outage(4), log=LOG, backoff=1.0, sleep=sleeps.append, token="t")
    assert run_id == "jr_found"
    assert found is not None
    assert start.calls == 1
    assert sleeps == [1.0, 5.0, 10.0, 20.0, 20.0]


def test_start_once_search_outage_past_patience_names_the_marker(monkeypatch: pytest.MonkeyPatch) -> None:
    """A search failing beyond SEARCH_PATIENCE raises GlueJobRunStartUnconfirmedError naming the marker; no resend."""
    monkeypatch.setattr(reattach, "_clock", Ticks())
    monkeypatch.setattr(reattach, "SEARCH_PATIENCE", 3.0)
    start = Script(ConnectionClosedError(endpoint_url="u"))
    with pytest.raises(GlueJobRunStartUnconfirmedError) as info:
        start_once(start, _outage(100), log=LOG, sleep=lambda _: None, job_name=JOB, token="abc123")
    assert start.calls == 1
    assert info.value.marker == f"{MARKER_ARGUMENT}=abc123"
    assert f"{MARKER_ARGUMENT}=abc123" in str(info.value)
    assert "InternalServiceException" in str(info.value)
    assert isinstance(info.value.__cause__, GlueInternalServiceError)


def test_start_once_search_refused_fails_at_once_naming_the_marker(monkeypatch: pytest.MonkeyPatch) -> None:
    """A search that is refused (access denied) is not retried: the error names the marker at once."""
    denied = GlueAccessDeniedError("GetJobRuns", "AccessDeniedException", "no glue:GetJobRuns")

    def find() -> JobRun | None:
        raise denied

    start = Script(ConnectionClosedError(endpoint_url="u"))
    with pytest.raises(GlueJobRunStartUnconfirmedError, match="no glue:GetJobRuns") as info:
        start_once(start, find, log=LOG, sleep=lambda _: None, token="abc")
    assert f"{MARKER_ARGUMENT}=abc" in str(info.value)
    assert start.calls == 1


def test_lost_answer_and_failing_search_leave_the_run_findable_and_stoppable(
    glue: LocalGlue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lost StartJobRun answer + GetJobRuns 5xx spell: the task fails naming the marker, the pending record keeps
    it, a retry reattaches to the run, and a Clear stops it before starting a fresh one."""
    monkeypatch.setattr(reattach, "_clock", Ticks())
    monkeypatch.setattr(reattach, "SEARCH_PATIENCE", 2.0)
    monkeypatch.setattr(reattach, "SEARCH_PAUSE", 0.0)
    glue.create_job(JOB, max_concurrent_runs=3, default_arguments={"--local-glue-duration": "600"})
    store = FakeStateStore()
    no_retries = {"retries": {"mode": "standard", "total_max_attempts": 1}}
    glue.inject_fault("StartJobRun", "drop_response")
    glue.inject_fault("GetJobRuns", "server_error", times=2)
    with pytest.raises(GlueJobRunStartUnconfirmedError) as info:
        op(botocore_config=no_retries).execute(task_context(FakeTI(try_number=1, max_tries=1), store))  # type: ignore[arg-type]
    assert glue.calls() == {"StartJobRun": 1, "GetJobRuns": 2}  # the search retried once, then gave up
    [orphan] = [run["Id"] for run in glue.client().get_job_runs(JobName=JOB)["JobRuns"]]
    record = RunRecord.from_json(store.values[STATE_KEY])
    assert record is not None
    assert record.run_id is None
    assert info.value.marker == f"{MARKER_ARGUMENT}={record.token}"
    arguments = glue.client().get_job_run(JobName=JOB, RunId=orphan)["JobRun"]["Arguments"]
    assert arguments[MARKER_ARGUMENT] == record.token

    retried = op(wait_for_completion=False).execute(task_context(FakeTI(try_number=2, max_tries=1), store))  # type: ignore[arg-type]
    assert retried == orphan
    store.values[STATE_KEY] = {**store.values[STATE_KEY], "run_id": None}  # as if the retry had died too

    glue.reset_counters()
    fresh = op(wait_for_completion=False).execute(task_context(FakeTI(try_number=3, max_tries=3), store))  # type: ignore[arg-type]
    assert fresh != orphan
    assert glue.calls()["BatchStopJobRun"] == 1
    state = glue.client().get_job_run(JobName=JOB, RunId=orphan)["JobRun"]["JobRunState"]
    assert state in ("STOPPING", "STOPPED")


def test_on_kill_survives_a_failing_search(glue: LocalGlue) -> None:
    """Killed while StartJobRun was in flight and Glue cannot be searched: on_kill logs the marker and returns."""
    glue.create_job(JOB)
    task = op(botocore_config={"retries": {"mode": "standard", "total_max_attempts": 1}})
    task._identity = identity()
    task._progress.start_attempted = True
    glue.inject_fault("GetJobRuns", "server_error")
    task.on_kill()
    assert glue.calls() == {"GetJobRuns": 1}
