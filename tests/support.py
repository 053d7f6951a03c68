"""Helpers shared by several test modules: a poll stepper for the poller, and dag.test() on a registered DAG."""

from __future__ import annotations

import asyncio
import importlib.util
import json
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.models.dagrun import DagRun
    from airflow.sdk import DAG

SAFETY = 60  # seconds; only guards against a hang, never asserted on


async def first_event(trigger: Any, limit: float = SAFETY) -> Any:
    """Run ``trigger`` until its first event (``limit`` guards a hang) and close it as the triggerer does."""
    events = trigger.run()
    try:
        async with asyncio.timeout(limit):
            return await anext(events)
    finally:
        await events.aclose()
        await trigger.cleanup()


class PollStepper:
    """Stand in for the poller's sleep so a test runs one poll at a time."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self._changed = asyncio.Event()
        self._release = asyncio.Event()

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        self._changed.set()
        await self._release.wait()
        self._release.clear()

    async def until_asleep(self, sleeps: int) -> None:
        """Wait until the poller went to sleep ``sleeps`` times (that many polls are over)."""
        async with asyncio.timeout(SAFETY):
            while len(self.delays) < sleeps:
                self._changed.clear()
                await self._changed.wait()

    def step(self) -> None:
        """Let the poller run its next poll."""
        self._release.set()


def register_and_test(dag: DAG, logical_date: datetime) -> DagRun:
    """Register the DAG in the metadata database (as the DAG processor would) and run it with ``dag.test()``."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.serialization.serialized_objects import LazyDeserializedDAG
    from airflow.utils.session import create_session
    from airflow_versions import update_dag_parsing_results

    DagBundlesManager().sync_bundles_to_db()
    with create_session() as session:
        update_dag_parsing_results([LazyDeserializedDAG.from_dag(dag)], session)
    return dag.test(logical_date=logical_date)


def cli_json(stdout: str) -> Any:
    """Parse the JSON an ``airflow ... -o json`` command printed; Airflow 3.0 prints log lines before it."""
    lines = stdout.splitlines()
    for index, line in enumerate(lines):
        if line.startswith(("[{", "{")) or line == "[]":
            return json.loads("\n".join(lines[index:]))
    raise ValueError(f"no JSON in the command's output: {stdout[-500:]!r}")


def load_demo() -> ModuleType:
    """Import ``scripts/demo.py`` (not a package) for its ``DEMO_JOBS`` and ``EXPECTED``."""
    spec = importlib.util.spec_from_file_location(
        "glue_runs_demo", Path(__file__).resolve().parents[1] / "scripts" / "demo.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_example(name: str) -> ModuleType:
    """Import ``example_dags/<name>.py`` (not a package) to test the logic of its tasks."""
    spec = importlib.util.spec_from_file_location(
        name, Path(__file__).resolve().parents[1] / "example_dags" / f"{name}.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


JOB_WRITES = ("CreateJob", "UpdateJob", "PutObject", "TagResource", "UntagResource", "DeleteObject")
"""The calls that change a job, its tags or an S3 object: what "no write" counts."""


def aws_client(glue: Any, service: str, **options: Any) -> Any:
    """A boto3 client of ``service`` on a local Glue's endpoint (its region, dummy credentials)."""
    import boto3

    options.setdefault("endpoint_url", glue.endpoint_url)
    return boto3.client(
        service, region_name=glue.region_name, aws_access_key_id="testing", aws_secret_access_key="testing", **options
    )


def s3_client(glue: Any) -> Any:
    """A boto3 S3 client on a local Glue (path-style addressing, dummy credentials)."""
    from botocore.config import Config

    return aws_client(glue, "s3", config=Config(s3={"addressing_style": "path"}))


def job_writes(glue: Any) -> dict[str, int]:
    """The write calls (:data:`JOB_WRITES`) the local Glue answered since its counters were reset."""
    return {name: count for name, count in glue.calls().items() if name in JOB_WRITES}


class FakeClock:
    """A clock for run timelines that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
