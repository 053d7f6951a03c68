"""GlueJobRunEndedTrigger against the local Glue over HTTP: which runs fire, shared reads, faults, its stored position.

Runs are started by a plain boto3 client (as the console or another orchestrator would); the watchers read through
real aiobotocore clients. The feed's sleep is replaced so each test decides when a poll runs. A test that asserts
that a run did NOT fire ends with a marker run: events come in poll order, so once the marker's event arrives,
every earlier poll has been judged.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from airflow_versions import capture_logs, deserialize, import_string, log_messages, serialize
from support import PollStepper

from airflow_glue_runs import event_triggers
from airflow_glue_runs._internal.compat import AIRFLOW_VERSION
from airflow_glue_runs._internal.polling import job_feed
from airflow_glue_runs._internal.polling.run_ends import EndPosition
from airflow_glue_runs.event_triggers import GlueJobRunEndedTrigger
from airflow_glue_runs.exceptions import GlueJobRunParameterError
from airflow_glue_runs.local_glue import LocalGlue

JOB = "watched-etl"
SAFETY = 30  # seconds; only guards against a hang, never asserted on
needs_asset_state_store = pytest.mark.skipif(
    AIRFLOW_VERSION < (3, 3), reason="needs Airflow 3.3+ (the asset watcher's state store)"
)


@pytest.fixture
def job(glue: LocalGlue) -> str:
    glue.create_job(JOB, max_concurrent_runs=500)
    return JOB


@pytest.fixture
def feed(monkeypatch: pytest.MonkeyPatch) -> PollStepper:
    """Replace the job feed's sleep so the test decides when each poll runs."""
    stepper = PollStepper()
    monkeypatch.setattr(job_feed, "_sleep", stepper.sleep)
    return stepper


def start(glue: LocalGlue, job_name: str = JOB, **plan: str) -> str:
    """Start a run with a plain boto3 client; ``plan`` holds ``--local-glue-*`` keys (duration, final_state...)."""
    args = {f"--local-glue-{key.replace('_', '-')}": value for key, value in plan.items()}
    return glue.client().start_job_run(JobName=job_name, Arguments=args)["JobRunId"]


class Watching:
    """Run a trigger as the triggerer does (its events into a queue) until stopped, then call cleanup()."""

    def __init__(self, trigger: GlueJobRunEndedTrigger) -> None:
        self.trigger = trigger
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        async for event in self.trigger.run():
            self.events.put_nowait(event.payload)

    async def next_payload(self) -> dict[str, Any]:
        """Wait for the next event (a failed watcher raises its error here)."""
        getter = asyncio.ensure_future(self.events.get())
        done, _ = await asyncio.wait({getter, self.task}, timeout=SAFETY, return_when=asyncio.FIRST_COMPLETED)
        if getter not in done:
            getter.cancel()
            if self.task in done:
                self.task.result()
            raise AssertionError("no event within the safety limit")
        return getter.result()

    async def run_ids(self, count: int) -> list[str]:
        return [(await self.next_payload())["run_id"] for _ in range(count)]

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.wait([self.task])
        await self.trigger.cleanup()
        assert self.events.empty(), f"unexpected events: {self.events}"


@pytest_asyncio.fixture
async def watch() -> AsyncIterator[Any]:
    """Start watchers for the test; stop them all at its end."""
    started: list[Watching] = []

    def begin(trigger: GlueJobRunEndedTrigger) -> Watching:
        started.append(Watching(trigger))
        return started[-1]

    yield begin
    for watching in started:
        await watching.stop()
    assert job_feed.feed_registry().feeds == {}


async def polls(feed: PollStepper, done: int) -> None:
    """Let the feed run its next poll and wait until ``done`` polls are over."""
    feed.step()
    await feed.until_asleep(done)


def make(job_name: str = JOB, **kwargs: Any) -> GlueJobRunEndedTrigger:
    kwargs.setdefault("botocore_config", {"retries": {"mode": "standard", "total_max_attempts": 1}})
    return GlueJobRunEndedTrigger(job_name=job_name, **kwargs)


# -- parameters -----------------------------------------------------------------------------------------------


def test_serialize_round_trips_through_airflow_serde() -> None:
    """serialize() gives primitives that rebuild an equal trigger through Airflow's serde; AssetWatcher takes it."""
    from airflow.sdk import Asset, AssetWatcher

    trigger = GlueJobRunEndedTrigger(
        job_name="nightly",
        states=["SUCCEEDED", "FAILED"],
        poll_interval=120,
        aws_conn_id="glue_prod",
        region_name="eu-west-1",
        verify=False,
        botocore_config={"retries": {"mode": "adaptive"}},
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_glue_runs.event_triggers.GlueJobRunEndedTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert kwargs == {
        "job_name": "nightly",
        "states": ["SUCCEEDED", "FAILED"],
        "poll_interval": 120.0,
        "aws_conn_id": "glue_prod",
        "region_name": "eu-west-1",
        "verify": False,
        "botocore_config": {"retries": {"mode": "adaptive"}},
    }
    rebuilt = import_string(classpath)(**deserialize(serialize(kwargs)))
    assert rebuilt.serialize() == (classpath, kwargs)
    asset = Asset("s3://lake/nightly", watchers=[AssetWatcher(name="nightly_done", trigger=trigger)])
    assert asset.watchers[0].trigger is trigger


@pytest.mark.parametrize(
    ("kwargs", "parameter", "says"),
    [
        ({"states": ["RUNNING"]}, "states", "STOPPED, SUCCEEDED, FAILED, TIMEOUT, ERROR, EXPIRED"),
        ({"states": "SUCCEEDED"}, "states", "expected a list of run states"),
        ({"states": []}, "states", "no state given"),
        ({"states": ["succeeded"]}, "states", "'succeeded' not allowed"),
        ({"poll_interval": 1}, "poll_interval", "at least 5"),
        ({"poll_interval": "60"}, "poll_interval", "expected seconds"),
        ({"job_name": ""}, "job_name", ""),
        ({"botocore_config": "adaptive"}, "botocore_config", "expected a dict"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(kwargs: dict[str, Any], parameter: str, says: str) -> None:
    """Bad input raises GlueJobRunParameterError naming the parameter and what is allowed, before any AWS call."""
    kwargs = {"job_name": JOB, **kwargs}
    with pytest.raises(GlueJobRunParameterError) as raised:
        GlueJobRunEndedTrigger(**kwargs)
    assert raised.value.parameter == parameter
    assert says in str(raised.value)


def test_a_position_of_another_shape_is_ignored() -> None:
    """A stored value this version did not write reads as no position (the watcher starts from now)."""
    assert EndPosition.from_json({"version": 99, "since": "2026-01-01T00:00:00+00:00"}) is None
    assert EndPosition.from_json({"version": 1, "since": "yesterday"}) is None
    assert EndPosition.from_json("x") is None
    position = EndPosition.from_json(
        {"version": 1, "since": "2026-01-01T00:00:00+00:00", "active": ["jr_a"], "recent": {"jr_b": 1.5}}
    )
    assert position is not None
    assert (position.active, position.recent) == ({"jr_a"}, {"jr_b": 1.5})


# -- what fires -------------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_fires_once_for_each_run_that_newly_ends(
    glue: LocalGlue, job: str, feed: PollStepper, watch: Any
) -> None:
    """Runs started by anyone fire once when they end; runs over before the watcher started, and re-reads, do not."""
    before = start(glue)  # over at once (duration 0), before the watcher starts
    glue.reset_counters()
    watching = watch(make())
    await feed.until_asleep(1)  # the first poll: the watcher's baseline
    long_run = start(glue, duration="600")
    quick = start(glue)
    await polls(feed, 2)
    assert await watching.run_ids(1) == [quick]
    glue.set_run_state(job, long_run, "SUCCEEDED")
    await polls(feed, 3)
    assert await watching.run_ids(1) == [long_run]
    await polls(feed, 4)  # both seen again: no event
    marker = start(glue)
    await polls(feed, 5)
    assert await watching.run_ids(1) == [marker]
    assert before not in {quick, long_run, marker}
    assert glue.calls() == {"GetJobRuns": 5, "StartJobRun": 3}


@pytest.mark.asyncio
async def test_watchers_of_one_job_share_one_read_per_poll(
    glue: LocalGlue, job: str, feed: PollStepper, watch: Any
) -> None:
    """Three watchers of one job (different states and intervals) cost one GetJobRuns per poll, not three."""
    glue.reset_counters()
    succeeded = [watch(make()), watch(make(poll_interval=30))]
    failed = watch(make(states=["FAILED"]))
    await feed.until_asleep(1)
    ok = start(glue)
    bad = start(glue, final_state="FAILED")
    await polls(feed, 2)
    for watching in succeeded:
        assert await watching.run_ids(1) == [ok]
    assert await failed.run_ids(1) == [bad]
    await polls(feed, 3)
    assert glue.calls()["GetJobRuns"] == 3
    assert feed.delays[-1] == pytest.approx(30.0, abs=1.0)  # the smallest interval among the watchers


@pytest.mark.asyncio
async def test_the_event_carries_the_run_summary_masked_without_arguments(
    glue: LocalGlue, job: str, feed: PollStepper, watch: Any
) -> None:
    """A failed run's event: its summary with Glue's text masked by the run's secret values, and no arguments."""
    watching = watch(make(states=["FAILED", "ERROR"]))
    await feed.until_asleep(1)
    start(glue)  # succeeds: not watched for
    run_id = glue.client().start_job_run(
        JobName=job,
        Arguments={
            "--db-password": "hunter2-secret",
            "--local-glue-final-state": "ERROR",
            "--local-glue-error-message": "login refused for password hunter2-secret",
        },
    )["JobRunId"]
    await polls(feed, 2)
    payload = await watching.next_payload()
    assert payload["run_id"] == run_id
    assert payload["job_name"] == job
    assert payload["state"] == "ERROR"
    assert payload["error_message"] == "login refused for password ***"
    assert "arguments" not in payload
    assert "hunter2-secret" not in json.dumps(payload)
    assert payload["started_on"] <= payload["completed_on"]
    assert payload["console_url"].endswith(f"/job/{job}/run/{run_id}")
    assert set(payload) >= {"execution_time", "attempt", "dpu_seconds", "trigger_name"}


@pytest.mark.asyncio
@pytest.mark.parametrize("fault", ["throttle", "AccessDeniedException", "EntityNotFoundException"])
async def test_a_failed_poll_costs_a_poll_and_the_watcher_keeps_watching(
    glue: LocalGlue, job: str, feed: PollStepper, watch: Any, fault: str
) -> None:
    """Throttling, AccessDenied or a missing job: logged once per spell by code, the run that ended is caught later."""
    with capture_logs() as captured:
        watching = watch(make())
        await feed.until_asleep(1)
        run_id = start(glue)
        glue.inject_fault("GetJobRuns", fault, times=2)
        await polls(feed, 2)
        await polls(feed, 3)
        await polls(feed, 4)
        assert await watching.run_ids(1) == [run_id]
    warnings = [m for m in log_messages(captured, "warning") if "still watching" in m]
    assert len(warnings) == 1, warnings
    code = {"throttle": "ThrottlingException"}.get(fault, fault)
    assert code in warnings[0]
    assert "injected" not in " ".join(log_messages(captured))  # the AWS text is not logged, its code is


@pytest.mark.asyncio
async def test_pages_are_read_only_as_deep_as_the_runs_in_progress(
    glue: LocalGlue, job: str, feed: PollStepper, watch: Any
) -> None:
    """A run in progress behind 250 younger runs is found on page 2: pages go on only while it is missing."""
    long_run = start(glue, duration="600")
    watching = watch(make(states=["STOPPED"]))
    await feed.until_asleep(1)
    client = glue.client()
    for _ in range(250):
        client.start_job_run(JobName=job)
    glue.reset_counters()
    glue.set_run_state(job, long_run, "STOPPED")
    await polls(feed, 2)
    assert await watching.run_ids(1) == [long_run]  # the 250 SUCCEEDED runs are not watched for
    # Page 1: 200 new runs; page 2: the other 50 and the long run. GetJob: the job's DefaultArguments, read once
    # per job to mask the STOPPED run's ErrorMessage.
    assert glue.calls() == {"GetJobRuns": 2, "GetJob": 1}


@pytest.mark.asyncio
async def test_a_run_in_progress_beyond_the_pages_is_read_alone(
    glue: LocalGlue, job: str, feed: PollStepper, watch: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run in progress that the bounded pages do not reach is read with GetJobRun, and fires when it ends."""
    monkeypatch.setattr(job_feed, "MAX_PAGES", 1)
    long_run = start(glue, duration="600")
    watching = watch(make(states=["STOPPED"]))
    await feed.until_asleep(1)
    client = glue.client()
    for _ in range(210):
        client.start_job_run(JobName=job)
    glue.set_run_state(job, long_run, "STOPPED")
    glue.reset_counters()
    await polls(feed, 2)
    assert await watching.run_ids(1) == [long_run]
    assert glue.calls() == {"GetJobRuns": 1, "GetJobRun": 1, "GetJob": 1}


# -- the position (Airflow 3.3's asset state store) ---------------------------------------------------------------


class FakeSupervisor:
    """The triggerer supervisor's end of the asset state store messages, keeping values in a dict (no database)."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], Any] = {}
        self.sets = 0

    async def asend(self, msg: Any) -> Any:
        from airflow.sdk.exceptions import ErrorType
        from airflow.sdk.execution_time.comms import AssetStateStoreResult, ErrorResponse, OKResponse

        if msg.type == "SetAssetStateStoreByName":
            self.sets += 1
            self.values[(msg.name, msg.key)] = json.loads(json.dumps(msg.value))
            return OKResponse(ok=True)
        if msg.type == "GetAssetStateStoreByName":
            if (msg.name, msg.key) not in self.values:
                return ErrorResponse(error=ErrorType.ASSET_STORE_NOT_FOUND)
            return AssetStateStoreResult(value=self.values[(msg.name, msg.key)])
        raise AssertionError(f"unexpected message {msg!r}")


@pytest.fixture
def supervisor(monkeypatch: pytest.MonkeyPatch) -> FakeSupervisor:
    """Stand in for the triggerer's supervisor channel, the boundary of Airflow's real state store accessors."""
    from airflow.sdk.execution_time import task_runner

    fake = FakeSupervisor()
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", fake, raising=False)
    monkeypatch.setattr(event_triggers, "SAVE_DELAY", 0.0)  # save as soon as the events are out
    return fake


def watched(trigger: GlueJobRunEndedTrigger, *assets: str) -> GlueJobRunEndedTrigger:
    """Give the trigger the state store accessors Airflow 3.3's triggerer gives a watcher of ``assets``."""
    from airflow.sdk import Asset
    from airflow.sdk.execution_time.context import AssetStateStoreAccessors

    trigger.asset_state_store = AssetStateStoreAccessors(inlets=[Asset(name=a, uri=f"s3://lake/{a}") for a in assets])
    return trigger


@needs_asset_state_store
@pytest.mark.asyncio
async def test_a_restarted_watcher_neither_repeats_nor_misses_a_run(
    glue: LocalGlue, job: str, feed: PollStepper, watch: Any, supervisor: FakeSupervisor
) -> None:
    """Position saved in every watched asset's store: after a restart, runs that ended meanwhile fire, others not."""
    first = watch(watched(make(), "orders", "orders_copy"))
    await feed.until_asleep(1)
    fired = start(glue)
    in_progress = start(glue, duration="600")
    await polls(feed, 2)
    assert await first.run_ids(1) == [fired]
    await polls(feed, 3)  # the position is saved once the events are out (SAVE_DELAY)
    await first.stop()
    stored = [value for (_, key), value in supervisor.values.items() if key == first.trigger.position_key]
    assert len(stored) == 2  # one per watched asset
    assert stored[0] == stored[1]
    assert stored[0]["active"] == [in_progress]

    # The triggerer is down: the run in progress ends, a new run starts and ends, another is still running.
    glue.set_run_state(job, in_progress, "SUCCEEDED")
    ended_meanwhile = start(glue)
    still_running = start(glue, duration="600")

    second = watch(watched(make(), "orders", "orders_copy"))
    await feed.until_asleep(4)
    assert sorted(await second.run_ids(2)) == sorted([in_progress, ended_meanwhile])
    glue.set_run_state(job, still_running, "SUCCEEDED")
    await polls(feed, 5)
    assert await second.run_ids(1) == [still_running]


@needs_asset_state_store
@pytest.mark.asyncio
async def test_a_watcher_with_a_store_but_no_position_starts_from_now(
    glue: LocalGlue, job: str, feed: PollStepper, watch: Any, supervisor: FakeSupervisor
) -> None:
    """An empty store: runs over before the start do not fire; the first poll's position is saved at once."""
    start(glue)
    watching = watch(watched(make(), "orders"))
    await feed.until_asleep(1)
    assert supervisor.sets == 1
    assert watching.trigger.position_store is not None
    assert watching.trigger.position_store.saves == 1
    await polls(feed, 2)
    assert supervisor.sets == 1  # nothing changed: nothing written
    marker = start(glue)
    await polls(feed, 3)
    assert await watching.run_ids(1) == [marker]


# -- the example DAG ----------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_the_example_dag_task_reads_the_run_from_a_watcher_event(
    glue: LocalGlue, feed: PollStepper, watch: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """The example's watcher fires for a run started by boto3; its task, given that asset event, logs the run id."""
    from support import load_example

    example = load_example("example_glue_asset_watcher")
    (watcher,) = example.orders_curated.watchers
    job_name = watcher.trigger.job_name
    glue.create_job(job_name)
    classpath, kwargs = watcher.trigger.serialize()
    kwargs["botocore_config"] = {"retries": {"mode": "standard", "total_max_attempts": 1}}
    watching = watch(import_string(classpath)(**kwargs))  # as the triggerer rebuilds it
    await feed.until_asleep(1)
    run_id = start(glue, job_name)
    await polls(feed, 2)
    payload = await watching.next_payload()

    # The asset event Airflow's Trigger.submit_event makes of it, as the task's triggering_asset_events show it.
    from airflow.sdk.api.datamodels._generated import AssetReferenceAssetEventDagRun
    from airflow.sdk.execution_time.comms import AssetEventDagRunReferenceResult
    from airflow.sdk.execution_time.context import TriggeringAssetEventsAccessor

    asset = example.orders_curated
    event = AssetEventDagRunReferenceResult(
        asset=AssetReferenceAssetEventDagRun(name=asset.name, uri=asset.uri, extra={}),
        extra={"from_trigger": True, "payload": json.loads(json.dumps(payload))},
        source_task_id=None,
        source_dag_id=None,
        source_run_id=None,
        source_map_index=None,
        source_aliases=[],
        timestamp=payload["completed_on"],
    )
    events = TriggeringAssetEventsAccessor.build([event])
    task = example.dag.get_task("report_glue_run")
    returned = task.python_callable(triggering_asset_events=events)
    assert returned == [run_id]
    assert f"Glue job {job_name} run {run_id} ended SUCCEEDED" in capsys.readouterr().out
    manual = TriggeringAssetEventsAccessor.build([])
    assert task.python_callable(triggering_asset_events=manual) == []  # a manual run: no event, nothing to report
