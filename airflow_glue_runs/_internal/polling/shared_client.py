"""One aiobotocore Glue client per connection and event loop, shared by every trigger in a triggerer process.

The triggerer runs all its triggers in one asyncio loop, so module-level state here is shared by all of them.
A client is keyed by what the trigger knows of its connection (:class:`ClientKey`) and by the running loop
(aiohttp sessions belong to the loop that made them). It is built once, in a worker thread: the Airflow
connection lookup, the credential set-up (an STS AssumeRole call for a role connection), botocore's service
model and endpoint rules all load off the event loop. Users lease it; when the last lease ends the client stays
open for :data:`CLIENT_IDLE_SECONDS` so a burst of new triggers does not rebuild it, then it is closed.

Credentials from an assumed role are ``AioRefreshableCredentials``: the long-lived client refreshes them before
they expire, on the request that needs them. The Amazon provider hands aiobotocore a *blocking* refresh function
(a boto3 STS call); :func:`_refresh_off_loop` moves that call to a worker thread so a refresh, every hour or so
for days on end, never stalls the triggerer's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import inspect
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_glue_runs._internal.polling.per_loop import PerLoop

if TYPE_CHECKING:
    from airflow_glue_runs.hooks import GlueJobRunHook

__all__ = ["CLIENT_IDLE_SECONDS", "ClientKey", "ClientRegistry", "SharedClient", "client_registry", "lease_client"]

log = logging.getLogger(__name__)

CLIENT_IDLE_SECONDS = 60.0
"""How long an unleased client stays open for the next trigger before it is closed."""


@dataclasses.dataclass(frozen=True)
class ClientKey:
    """What identifies a shared client: the trigger's connection parameters, all primitives.

    The endpoint URL and credentials come from the Airflow connection named ``aws_conn_id``, read once when the
    client is built.

    :param aws_conn_id: the Airflow ``aws`` connection id (None: boto3's default credential chain).
    :param region_name: the region, overriding the connection's.
    :param verify: TLS verification: a bool, a CA bundle path, or None for the connection's setting.
    :param botocore_config: botocore ``Config`` keyword arguments as JSON text with sorted keys, or None.
    """

    aws_conn_id: str | None
    region_name: str | None
    verify: bool | str | None
    botocore_config: str | None

    @classmethod
    def of(
        cls,
        *,
        aws_conn_id: str | None,
        region_name: str | None,
        verify: bool | str | None,
        botocore_config: Mapping[str, Any] | None,
    ) -> ClientKey:
        """Build the key for a trigger's connection parameters."""
        config = json.dumps(botocore_config, sort_keys=True) if botocore_config else None
        return cls(aws_conn_id=aws_conn_id, region_name=region_name, verify=verify, botocore_config=config)

    @classmethod
    def of_connection(cls, owner: Any) -> ClientKey:
        """Build the key of an object with ``aws_conn_id``, ``region_name``, ``verify``, ``botocore_config``."""
        return cls.of(
            aws_conn_id=owner.aws_conn_id,
            region_name=owner.region_name,
            verify=owner.verify,
            botocore_config=owner.botocore_config,
        )

    def make_hook(self) -> GlueJobRunHook:
        """Return a (not yet connected) hook for these parameters; cheap, no I/O."""
        from airflow_glue_runs.hooks import GlueJobRunHook

        config = json.loads(self.botocore_config) if self.botocore_config else None
        return GlueJobRunHook(
            aws_conn_id=self.aws_conn_id, region_name=self.region_name, verify=self.verify, config=config
        )


class SharedClient:
    """A built client with the hook that made it, and how many users lease it.

    :param key: the client's key.
    :param hook: the hook whose ``a``-methods take ``client=``.
    :param client: the aiobotocore Glue client, already entered.
    """

    def __init__(self, key: ClientKey, hook: GlueJobRunHook, client: Any) -> None:
        self.key = key
        self.hook = hook
        self.client = client
        self.leases = 0
        self.closed = False

    @property
    def max_pool_connections(self) -> int:
        """Return the size of the client's HTTP connection pool (botocore's ``max_pool_connections``)."""
        return int(self.client.meta.config.max_pool_connections)

    async def aclose(self) -> None:
        """Close the client's HTTP connections; idempotent."""
        if not self.closed:
            self.closed = True
            await self.client.__aexit__(None, None, None)


T = TypeVar("T")


async def off_loop(function: Callable[..., T], *args: Any) -> T:
    """Run blocking ``function(*args)`` in a worker thread the way Airflow's triggerer supports.

    Building a hook reads the Airflow connection, which in a triggerer goes to the supervisor over the triggerer's
    own channel. asgiref's ``sync_to_async`` (what ``AwsBaseHook.get_async_conn`` uses) lets that call reach the
    triggerer's event loop; a plain ``asyncio.to_thread`` does not, and on Airflow 3.0 the read then fails
    ("attached to a different loop") and takes the triggerer down.
    """
    from asgiref.sync import sync_to_async

    return await sync_to_async(function, thread_sensitive=False)(*args)


def _refresh_off_loop(credentials: object) -> None:
    """Make refreshable credentials call a blocking refresh function in a worker thread.

    aiobotocore awaits ``_refresh_using()`` when it is a coroutine function and calls it inline otherwise; the
    Amazon provider passes a blocking boto3 STS call (AssumeRole, AssumeRoleWithSAML or web identity).
    """
    refresh = getattr(credentials, "_refresh_using", None)
    if refresh is None or inspect.iscoroutinefunction(refresh):
        return

    async def refresh_in_thread() -> Any:
        return await off_loop(refresh)

    credentials._refresh_using = refresh_in_thread  # type: ignore[attr-defined]


def open_client(key: ClientKey, service: str, extra_config: Any = None) -> tuple[GlueJobRunHook, Any, str | None]:
    """Build the hook of ``key``, its aiobotocore session and an entered ``service`` client; runs in a worker thread.

    Client creation is a coroutine in aiobotocore, so it runs on a private loop in this thread. Nothing it
    makes is bound to that loop: aiobotocore opens its aiohttp session (and TLS context) on the first request,
    on the loop that sends it. Returns the hook, the client and the endpoint URL (``None``: AWS's own).

    :param extra_config: a botocore ``Config`` merged over the connection's (e.g. the Logs reader's retries).
    """
    from airflow_glue_runs._internal.polling.page_parser import PageParserFactory  # aiobotocore: off the import path

    hook = key.make_hook()
    session: Any = hook.get_session(region_name=hook.region_name, deferrable=True)
    # botocore's model walk of a 200-run GetJobRuns page would hold the triggerer's loop for ~8 ms (page_parser).
    session.register_component("response_parser_factory", PageParserFactory())
    endpoint_url = hook.conn_config.get_service_endpoint_url(service_name=service)
    config = hook._get_config() if extra_config is None else hook._get_config().merge(extra_config)

    async def create() -> Any:
        _refresh_off_loop(await session.get_credentials())
        context = session.create_client(
            service, region_name=hook.region_name, endpoint_url=endpoint_url, config=config, verify=hook.verify
        )
        return await context.__aenter__()

    return hook, asyncio.run(create()), endpoint_url


def _build_client(key: ClientKey) -> SharedClient:
    """Build the shared Glue client of ``key``; runs in a worker thread (:func:`open_client`)."""
    hook, client, endpoint_url = open_client(key, "glue")
    log.info(
        "Built the shared Glue client for connection %r (region %s, endpoint %s)",
        key.aws_conn_id,
        hook.region_name,
        endpoint_url or "default",
    )
    return SharedClient(key, hook, client)


class ClientRegistry:
    """The shared clients of one event loop.

    :param idle_seconds: how long an unleased client stays open before it is closed.
    """

    def __init__(self, idle_seconds: float = CLIENT_IDLE_SECONDS) -> None:
        self.idle_seconds = idle_seconds
        self.clients: dict[ClientKey, SharedClient] = {}
        self.builds = 0
        """How many clients this registry built (for tests and benchmarks)."""
        self._building: dict[ClientKey, asyncio.Task[SharedClient]] = {}
        self._closers: dict[ClientKey, asyncio.Task[None]] = {}
        self._waiting: Counter[ClientKey] = Counter()

    async def acquire(self, key: ClientKey) -> SharedClient:
        """Lease the client for ``key``, building it (once, whoever asks at the same time) if needed."""
        shared = self.clients.get(key)
        while shared is None:
            task = self._building.get(key)
            if task is None:
                task = _detached(self._build(key))
                self._building[key] = task
            self._waiting[key] += 1
            try:
                built = await asyncio.shield(task)
            except BaseException:
                self._waiting[key] -= 1
                if task.done() and not task.cancelled() and task.exception() is None:
                    self._idle_check(task.result())  # this asker was cancelled: maybe nobody is left
                raise
            self._waiting[key] -= 1
            # An idle countdown may have closed it before this task resumed; then build again.
            shared = built if self.clients.get(key) is built else None
        shared.leases += 1
        closer = self._closers.pop(key, None)
        if closer is not None:
            closer.cancel()
        return shared

    def release(self, shared: SharedClient) -> None:
        """End one lease; the last one starts the idle countdown to closing the client."""
        shared.leases -= 1
        self._idle_check(shared)

    async def aclose_all(self) -> None:
        """Close every client now, leased or not (for shutdown and tests)."""
        for closer in list(self._closers.values()):
            closer.cancel()
        self._closers.clear()
        clients, self.clients = list(self.clients.values()), {}
        for shared in clients:
            await shared.aclose()

    async def _build(self, key: ClientKey) -> SharedClient:
        try:
            shared = await off_loop(_build_client, key)
        finally:
            self._building.pop(key, None)
        self.builds += 1
        self.clients[key] = shared
        self._idle_check(shared)  # everyone who asked may have been cancelled meanwhile
        return shared

    def _unused(self, shared: SharedClient) -> bool:
        return shared.leases == 0 and self._waiting[shared.key] == 0 and self.clients.get(shared.key) is shared

    def _idle_check(self, shared: SharedClient) -> None:
        if self._unused(shared) and shared.key not in self._closers:
            self._closers[shared.key] = _detached(self._close_when_idle(shared))

    async def _close_when_idle(self, shared: SharedClient) -> None:
        # The close sits in ``finally`` so that a loop shutting down (which cancels pending tasks) closes it too;
        # a countdown stopped by a new lease was unregistered by ``acquire`` and closes nothing.
        me = asyncio.current_task()
        try:
            await asyncio.sleep(self.idle_seconds)
        finally:
            if self._closers.get(shared.key) is me:
                del self._closers[shared.key]
                if self._unused(shared):
                    del self.clients[shared.key]
                    await shared.aclose()


def _detached(coro: Any) -> asyncio.Task[Any]:
    """Start ``coro`` as a task outside the caller's context (so its logs are not routed to the caller's task)."""
    task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(coro, context=contextvars.Context())
    task.add_done_callback(_retrieve_exception)
    return task


def _retrieve_exception(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


_registries: PerLoop[ClientRegistry] = PerLoop(ClientRegistry)


def client_registry() -> ClientRegistry:
    """Return the client registry of the running event loop."""
    return _registries.get()


@contextlib.asynccontextmanager
async def lease_client(key: ClientKey) -> AsyncIterator[SharedClient]:
    """Lease the running loop's shared client for ``key`` for the block."""
    registry = client_registry()
    shared = await registry.acquire(key)
    try:
        yield shared
    finally:
        registry.release(shared)
