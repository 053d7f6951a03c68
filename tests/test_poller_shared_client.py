"""The process-wide shared Glue client: built once off the loop, leased, closed when idle, credentials refreshed."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiobotocore.credentials import AioRefreshableCredentials

from airflow_glue_runs._internal.polling import page_parser, shared_client
from airflow_glue_runs._internal.polling.shared_client import ClientKey, SharedClient, client_registry, lease_client
from airflow_glue_runs._internal.run.waiting import Resolution, WaitResult
from airflow_glue_runs.local_glue import LocalGlue
from airflow_glue_runs.triggers import GlueJobRunTrigger

JOB = "client-etl"
KEY = ClientKey.of(aws_conn_id="aws_default", region_name=None, verify=None, botocore_config=None)
SAFETY = 30  # seconds; only guards against a hang, never asserted on


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, SharedClient]]:
    """Record each client build: the thread it ran in, and the client."""
    recorded: list[tuple[int, SharedClient]] = []
    real = shared_client._build_client

    def build(key: ClientKey) -> SharedClient:
        shared = real(key)
        recorded.append((threading.get_ident(), shared))
        return shared

    monkeypatch.setattr(shared_client, "_build_client", build)
    return recorded


def test_the_key_is_made_of_primitives_with_the_config_as_sorted_json() -> None:
    """Equal connection parameters give equal keys, whatever the order of the botocore config's keys."""
    a = ClientKey.of(aws_conn_id="c", region_name="eu-west-1", verify=False, botocore_config={"b": 1, "a": {"y": 2}})
    b = ClientKey.of(aws_conn_id="c", region_name="eu-west-1", verify=False, botocore_config={"a": {"y": 2}, "b": 1})
    assert a == b
    assert hash(a) == hash(b)
    assert a.botocore_config == '{"a": {"y": 2}, "b": 1}'


@pytest.mark.asyncio
async def test_concurrent_leases_build_one_client_in_a_worker_thread(
    glue: LocalGlue, builds: list[tuple[int, SharedClient]]
) -> None:
    """Twenty callers asking at once get the same client, built once, outside the event loop's thread."""
    registry = client_registry()
    leased = await asyncio.gather(*(registry.acquire(KEY) for _ in range(20)))
    assert len({id(shared) for shared in leased}) == 1
    assert registry.builds == 1
    assert len(builds) == 1
    assert builds[0][0] != threading.get_ident()
    assert leased[0].leases == 20
    assert leased[0].max_pool_connections == 10
    for shared in leased:
        registry.release(shared)
    await registry.aclose_all()


@pytest.mark.asyncio
async def test_an_idle_client_is_closed_and_the_next_lease_builds_anew(glue: LocalGlue) -> None:
    """When the last lease ends the client closes after the idle time; a new lease builds a new client."""
    registry = client_registry()
    registry.idle_seconds = 0
    async with lease_client(KEY) as first:
        pass
    async with asyncio.timeout(SAFETY):
        while not first.closed:  # noqa: ASYNC110 - bounded wait on the idle countdown
            await asyncio.sleep(0.01)
    assert registry.clients == {}
    async with lease_client(KEY) as second:
        assert second is not first
        assert not second.closed
    assert registry.builds == 2


@pytest.mark.asyncio
async def test_a_new_lease_within_the_idle_time_reuses_the_client(glue: LocalGlue) -> None:
    """A burst of triggers after the last one left finds the client still open."""
    registry = client_registry()
    async with lease_client(KEY) as first:
        pass
    async with lease_client(KEY) as second:
        assert second is first
    assert registry.builds == 1
    await registry.aclose_all()
    assert first.closed


@pytest.mark.asyncio
async def test_a_cancelled_asker_leaves_no_unclosed_client(glue: LocalGlue) -> None:
    """If everyone who asked for a client is cancelled while it is built, it is still closed when idle."""
    registry = client_registry()
    registry.idle_seconds = 0
    asker = asyncio.create_task(registry.acquire(KEY))
    await asyncio.sleep(0)
    asker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asker
    async with asyncio.timeout(SAFETY):
        while registry.builds == 0 or registry.clients:  # noqa: ASYNC110 - bounded wait on build and close
            await asyncio.sleep(0.01)
    assert registry.builds == 1


def test_each_event_loop_has_its_own_client_closed_with_the_loop(
    glue: LocalGlue, builds: list[tuple[int, SharedClient]]
) -> None:
    """A loop that ends (as dag.test()'s does after one trigger event) closes its client; the next loop builds one."""
    glue.create_job(JOB)
    run_id = glue.client().start_job_run(JobName=JOB)["JobRunId"]

    async def first_event() -> Any:
        return await anext(GlueJobRunTrigger(job_name=JOB, run_id=run_id, poll_interval=0.01).run())  # type: ignore[arg-type]

    for _ in range(2):
        event = asyncio.run(first_event())
        assert WaitResult.from_json(event.payload).resolution is Resolution.SUCCEEDED
    assert len(builds) == 2
    assert all(shared.closed for _, shared in builds)


@pytest.mark.asyncio
async def test_a_blocking_credential_refresh_runs_in_a_worker_thread() -> None:
    """The Amazon provider's blocking STS refresh is moved off the loop; the client's credentials stay fresh."""
    loop_thread = threading.get_ident()
    refreshed_in: list[int] = []

    def refresh() -> dict[str, str]:
        refreshed_in.append(threading.get_ident())
        expiry = datetime.now(UTC) + timedelta(hours=1)
        return {"access_key": "new", "secret_key": "s", "token": "t", "expiry_time": expiry.isoformat()}

    expired = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    metadata = {"access_key": "old", "secret_key": "s", "token": "t", "expiry_time": expired}
    credentials = AioRefreshableCredentials.create_from_metadata(
        metadata=metadata, refresh_using=refresh, method="sts-assume-role"
    )
    shared_client._refresh_off_loop(credentials)
    frozen = await credentials.get_frozen_credentials()
    assert frozen.access_key == "new"
    assert len(refreshed_in) == 1
    assert refreshed_in[0] != loop_thread


@pytest.mark.asyncio
async def test_an_assumed_role_client_keeps_refreshing_its_credentials(
    glue: LocalGlue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a role_arn connection the long-lived client refreshes the assumed role (STS) when it expires."""
    connection = json.loads(glue.airflow_connection())
    connection["extra"]["role_arn"] = "arn:aws:iam::123456789012:role/airflow-glue"
    connection["extra"]["service_config"] = {"sts": {"endpoint_url": glue.endpoint_url}}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(connection))
    glue.create_job(JOB)
    run_id = glue.client().start_job_run(JobName=JOB)["JobRunId"]
    async with lease_client(KEY) as shared:
        credentials = shared.client._get_credentials()
        assert isinstance(credentials, AioRefreshableCredentials)
        first_key = (await credentials.get_frozen_credentials()).access_key
        await shared.hook.aget_job_run(JOB, run_id, client=shared.client)
        credentials._expiry_time = datetime.now(UTC) - timedelta(seconds=1)  # as after an hour or a day
        run = await shared.hook.aget_job_run(JOB, run_id, client=shared.client)
        assert run.id == run_id
        assert (await credentials.get_frozen_credentials()).access_key != first_key
        assert credentials._expiry_time > datetime.now(UTC)
    await client_registry().aclose_all()


@pytest.mark.asyncio
async def test_timestamps_are_parsed_to_utc_without_tzlocal(glue: LocalGlue) -> None:
    """The shared client parses Glue's epoch timestamps straight to UTC (botocore's tzlocal is slow per value)."""
    glue.create_job(JOB)
    run_id = glue.client().start_job_run(JobName=JOB)["JobRunId"]
    async with lease_client(KEY) as shared:
        run = await shared.hook.aget_job_run(JOB, run_id, client=shared.client)
    assert run.started_on is not None
    assert run.started_on.tzinfo is UTC
    assert page_parser.parse_timestamp(1767225600) == datetime(2026, 1, 1, tzinfo=UTC)
    assert page_parser.parse_timestamp("2026-01-01T01:00:00+01:00") == datetime(2026, 1, 1, tzinfo=UTC)
    await client_registry().aclose_all()
