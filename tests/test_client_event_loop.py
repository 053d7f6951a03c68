"""The shared aiobotocore clients are built on a private loop and used on another: nothing may be bound to the first.

``shared_client.open_client`` (the Glue client, and through ``log_client.build_logs_client`` the CloudWatch Logs
client) creates and enters the client with ``asyncio.run`` in a worker thread; the triggerer's loop then sends every
request. That holds only because aiobotocore opens its aiohttp session, connector and TLS context on the first
request, on the loop that sends it. These tests build the clients through the provider's own code path and fail
when aiobotocore (a new release, or a new option) binds anything to the creating loop: they walk the client's
object graph for that loop, then close it and make real calls from another loop with warnings as errors. A test of
the checker itself forces an eager session and shows that the walk catches it.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import sys
import time
import types
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import aiohttp
import pytest
from aiobotocore.client import AioBaseClient
from botocore.exceptions import HTTPClientError
from support import aws_client

from airflow_glue_runs._internal.glue_logs import client as log_client
from airflow_glue_runs._internal.polling import shared_client
from airflow_glue_runs._internal.polling.shared_client import ClientKey
from airflow_glue_runs.local_glue import LocalGlue

KEY = ClientKey.of(aws_conn_id="aws_default", region_name=None, verify=None, botocore_config=None)
ONE_ATTEMPT = ClientKey.of(
    aws_conn_id="aws_default", region_name=None, verify=None, botocore_config={"retries": {"total_max_attempts": 1}}
)
JOB = "loop-etl"
LOG_GROUP = "/aws-glue/jobs/output"
WALK_LIMIT = 500_000
"""Most objects the graph walk visits; reaching it fails the test (an unbounded walk proves nothing)."""


class LoopBinding:
    """One object reachable from a client that belongs to a given event loop, and the path that reaches it."""

    def __init__(self, obj: object, path: list[str]) -> None:
        self.kind = type(obj).__qualname__
        self.path = path

    def __repr__(self) -> str:
        return f"{self.kind} via {' -> '.join(self.path)}"


def _bound_to(obj: object, loop: asyncio.AbstractEventLoop) -> bool:
    """Tell whether ``obj`` is ``loop`` or an asyncio/aiohttp object that belongs to it."""
    if obj is loop:
        return True
    if isinstance(obj, asyncio.Future):  # Tasks too
        return obj.get_loop() is loop
    # asyncio's Lock, Event, Condition, Semaphore, Queue bind ``_loop`` on first contended use (3.10+);
    # aiohttp's ClientSession and connectors keep the loop they were made on in ``_loop`` as well.
    try:
        return object.__getattribute__(obj, "_loop") is loop
    except AttributeError:
        return False
    except Exception:  # an object with an exotic __getattribute__: not ours to judge
        return False


def loop_bindings(
    root: object,
    loop: asyncio.AbstractEventLoop,
    *,
    must_reach: Sequence[object] = (),
    limit: int = WALK_LIMIT,
) -> list[LoopBinding]:
    """Walk everything ``root`` references (``gc.get_referents``) and return what belongs to ``loop``.

    Modules, classes and module globals are not walked: they lead to the whole interpreter, and what a class or a
    module holds is not state of this client. Raises ``AssertionError`` when the walk would pass ``limit`` objects,
    or when it did not reach every object of ``must_reach`` (the walk must see where the loop-sensitive state is).
    """
    module_dicts = {id(vars(module)) for module in list(sys.modules.values()) if module is not None}
    seen = {id(root)}
    parents: dict[int, tuple[int, str]] = {}
    queue: collections.deque[object] = collections.deque([root])
    found: list[LoopBinding] = []

    def path_to(obj: object) -> list[str]:
        steps = [type(obj).__qualname__]
        key = id(obj)
        while key in parents:
            key, name = parents[key]
            steps.append(name)
        return steps[::-1]

    while queue:
        obj = queue.popleft()
        if _bound_to(obj, loop):
            found.append(LoopBinding(obj, path_to(obj)))
            continue  # the loop's own graph is not the client's
        for child in gc.get_referents(obj):
            if id(child) in seen or isinstance(child, types.ModuleType | type) or id(child) in module_dicts:
                continue
            seen.add(id(child))
            assert len(seen) <= limit, f"the object graph has more than {limit} objects; raise WALK_LIMIT"
            parents[id(child)] = (id(obj), type(obj).__qualname__)
            queue.append(child)
    missed = [type(obj).__qualname__ for obj in must_reach if id(obj) not in seen]
    assert not missed, f"the walk never reached {missed}"
    return found


def loop_sensitive_parts(client: Any) -> list[object]:
    """Return where an aiobotocore client keeps what could belong to a loop: HTTP session, its lock, credentials."""
    http_session = client._endpoint.http_session
    return [http_session, http_session._sessions_lock, http_session._exit_stack, client._request_signer._credentials]


@pytest.fixture
def creating_loops(monkeypatch: pytest.MonkeyPatch) -> list[asyncio.AbstractEventLoop]:
    """Record every event loop created from now on, in any thread (``asyncio.run`` creates its loop this way)."""
    created: list[asyncio.AbstractEventLoop] = []
    real = asyncio.events.new_event_loop

    def new_event_loop() -> asyncio.AbstractEventLoop:
        loop = real()
        created.append(loop)
        return loop

    monkeypatch.setattr(asyncio.events, "new_event_loop", new_event_loop)
    return created


def build_on_private_loop(builder: Callable[[], Any], created: list[asyncio.AbstractEventLoop]) -> tuple[Any, Any]:
    """Build a client the way the triggerer does: ``off_loop`` from a running loop; return it and its creating loop.

    The building loop is stopped and closed when this returns (``asyncio.run``); the creating loop, made by the
    provider's ``asyncio.run`` in the worker thread, is closed too.
    """

    building: list[asyncio.AbstractEventLoop] = []

    async def build() -> Any:
        building.append(asyncio.get_running_loop())
        return await shared_client.off_loop(builder)

    before = len(created)
    built = asyncio.run(build())
    private = [loop for loop in created[before:] if loop not in building]
    assert len(private) == 1, f"expected the provider to create its client on one private loop, saw {len(private)}"
    return built, private[0]


def run_strict(coro: Any) -> tuple[Any, list[str]]:
    """Run ``coro`` on a fresh loop with ResourceWarning/RuntimeWarning as errors; return its result and the problems.

    Problems are what Python reports outside the coroutine's own flow: errors passed to the loop's exception handler
    (a task destroyed while pending, an unclosed aiohttp session) and unraisable exceptions (a warning raised in a
    ``__del__``), collected until a full garbage collection after the loop closed.
    """
    problems: list[str] = []

    def exception_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        problems.append(f"loop error: {context.get('message')} {context.get('exception')!r}")

    def unraisable_hook(unraisable: Any) -> None:
        problems.append(f"unraisable: {unraisable.exc_type.__name__}: {unraisable.exc_value} {unraisable.object!r}")

    async def main() -> Any:
        asyncio.get_running_loop().set_exception_handler(exception_handler)
        return await coro

    previous_hook = sys.unraisablehook
    sys.unraisablehook = unraisable_hook
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)
            warnings.simplefilter("error", RuntimeWarning)
            result = asyncio.run(main())
            gc.collect()
    finally:
        sys.unraisablehook = previous_hook
    return result, problems


def eager_http_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every aiobotocore client open its aiohttp session when entered (as a future aiobotocore might)."""
    real_aenter = AioBaseClient.__aenter__

    async def aenter(self: Any) -> Any:
        client = await real_aenter(self)
        await client._endpoint.http_session._get_session(None)
        return client

    monkeypatch.setattr(AioBaseClient, "__aenter__", aenter)


@pytest.mark.filterwarnings("error::ResourceWarning", "error::RuntimeWarning")
def test_the_glue_client_holds_nothing_of_its_creating_loop_and_works_on_another(
    glue: LocalGlue, creating_loops: list[asyncio.AbstractEventLoop]
) -> None:
    """The shared Glue client, built on the provider's private loop, references no object of it and runs GetJobRuns
    on a different loop after that one is closed, with no warning."""
    glue.create_job(JOB)
    run_id = glue.client().start_job_run(JobName=JOB)["JobRunId"]
    shared, creating = build_on_private_loop(lambda: shared_client._build_client(KEY), creating_loops)
    assert creating.is_closed()
    assert loop_bindings(shared.client, creating, must_reach=loop_sensitive_parts(shared.client)) == []

    async def use() -> list[str]:
        try:
            page = await shared.client.get_job_runs(JobName=JOB, MaxResults=200)
            return [run["Id"] for run in page["JobRuns"]]
        finally:
            await shared.aclose()

    assert run_strict(use()) == ([run_id], [])


@pytest.mark.filterwarnings("error::ResourceWarning", "error::RuntimeWarning")
def test_the_logs_client_holds_nothing_of_its_creating_loop_and_works_on_another(
    glue: LocalGlue, creating_loops: list[asyncio.AbstractEventLoop]
) -> None:
    """The log reader's CloudWatch Logs client, built on the provider's private loop, references no object of it and
    runs FilterLogEvents on a different loop after that one is closed, with no warning."""
    logs = aws_client(glue, "logs")
    logs.create_log_group(logGroupName=LOG_GROUP)
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName="jr_1")
    now_ms = int(time.time() * 1000)  # moto drops events more than two hours ahead of now, as AWS does
    logs.put_log_events(
        logGroupName=LOG_GROUP, logStreamName="jr_1", logEvents=[{"timestamp": now_ms, "message": "hi"}]
    )
    client, creating = build_on_private_loop(lambda: log_client.build_logs_client(KEY), creating_loops)
    assert creating.is_closed()
    assert loop_bindings(client, creating, must_reach=loop_sensitive_parts(client)) == []

    async def use() -> list[str]:
        try:
            page = await client.filter_log_events(logGroupName=LOG_GROUP, logStreamNames=["jr_1"])
            return [event["message"] for event in page["events"]]
        finally:
            await client.__aexit__(None, None, None)

    assert run_strict(use()) == (["hi"], [])


def test_the_checker_finds_an_http_session_opened_on_the_creating_loop(
    glue: LocalGlue, creating_loops: list[asyncio.AbstractEventLoop], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client whose aiohttp session was opened eagerly on the creating loop is reported, and fails on another loop."""
    glue.create_job(JOB)
    eager_http_session(monkeypatch)
    shared, creating = build_on_private_loop(lambda: shared_client._build_client(ONE_ATTEMPT), creating_loops)
    found = loop_bindings(shared.client, creating)
    assert [(binding.kind, binding.path) for binding in found] == [
        ("ClientSession", ["Glue", "AioEndpoint", "AIOHTTPSession", "dict", "ClientSession"])
    ]

    async def use() -> None:
        try:
            await shared.client.get_job_runs(JobName=JOB)
        finally:
            await shared.aclose()

    # The second half of the real tests sees it too: the session's connector is on the closed creating loop.
    with pytest.raises(HTTPClientError, match="Event loop is closed"):
        asyncio.run(use())


def test_the_checker_finds_a_lock_that_waited_on_the_creating_loop() -> None:
    """An asyncio lock that once made a caller wait on a loop belongs to it, deep in a graph; a fresh one does not."""
    loop = asyncio.new_event_loop()
    try:
        lock = asyncio.Lock()
        graph = {"fresh": [asyncio.Lock(), asyncio.Event()], "holder": types.SimpleNamespace(inner=[lock])}

        async def contend() -> None:
            async with lock:
                waiter = asyncio.ensure_future(lock.acquire())
                await asyncio.sleep(0)
            await waiter
            lock.release()

        loop.run_until_complete(contend())
    finally:
        loop.close()
    found = loop_bindings(graph, loop)
    assert [binding.kind for binding in found] == ["Lock"]
    assert found[0].path == ["dict", "SimpleNamespace", "dict", "list", "Lock"]


def test_run_strict_reports_an_aiohttp_session_left_open() -> None:
    """The real-call half reports an aiohttp session left unclosed (a ResourceWarning raised in __del__)."""

    async def leave_open() -> str:
        aiohttp.ClientSession()
        return "done"

    result, problems = run_strict(leave_open())
    assert result == "done"
    assert any("Unclosed client session" in problem for problem in problems), problems
