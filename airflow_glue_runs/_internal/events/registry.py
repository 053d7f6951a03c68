"""The event consumers of one event loop: started by the first watcher of a connection, closed after the last.

A watcher joins (:meth:`EventConsumerRegistry.join`) when it subscribes to the poller; without a configured queue
that costs a dictionary lookup and nothing else (no client, no task, no SQS call). The consumer of a connection
stays open for :data:`~airflow_glue_runs._internal.polling.shared_client.CLIENT_IDLE_SECONDS` after its last
watcher left, so a burst of new triggers does not restart it. The registry keeps every consumer's counters,
closed ones included (:meth:`EventConsumerRegistry.totals`), for tests and benchmarks.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging

from airflow_glue_runs._internal.events.consumer import ConsumerStats, EventConsumer
from airflow_glue_runs._internal.events.settings import EventSettings, read_event_settings
from airflow_glue_runs._internal.polling.per_loop import PerLoop
from airflow_glue_runs._internal.polling.shared_client import CLIENT_IDLE_SECONDS, ClientKey

__all__ = ["EventConsumerRegistry", "event_consumers"]

log = logging.getLogger(__name__)


class EventConsumerRegistry:
    """The event consumers of one event loop, one per (client key, queue URL).

    :param idle_seconds: how long a consumer without watchers goes on before it is closed.
    """

    def __init__(self, idle_seconds: float = CLIENT_IDLE_SECONDS) -> None:
        self.idle_seconds = idle_seconds
        self.consumers: dict[tuple[ClientKey, str], EventConsumer] = {}
        self.closed: list[EventConsumer] = []
        """The consumers closed so far (their counters count in :meth:`totals`)."""
        self._settings: EventSettings | None = None
        self._closers: dict[tuple[ClientKey, str], asyncio.Task[None]] = {}

    @property
    def settings(self) -> EventSettings:
        """Return the triggerer's event settings, read once per event loop."""
        if self._settings is None:
            self._settings = read_event_settings()
        return self._settings

    def join(self, key: ClientKey) -> EventConsumer | None:
        """Count a watcher of ``key``; start its consumer if a queue is configured. Return it (None: no events)."""
        queue_url = self.settings.queue_url
        if queue_url is None:
            return None
        consumer = self.consumers.get((key, queue_url))
        if consumer is None:
            if any(url == queue_url for _, url in self.consumers):
                log.warning(
                    "Two AWS connections consume SQS queue %s in this triggerer: each gets only part of the events.",
                    queue_url,
                )
            consumer = self.consumers[(key, queue_url)] = EventConsumer(key, queue_url, self.settings.safety_interval)
            consumer.start()
        consumer.subscribers += 1
        closer = self._closers.pop((key, queue_url), None)
        if closer is not None:
            closer.cancel()
        return consumer

    def leave(self, consumer: EventConsumer) -> None:
        """Uncount a watcher; the last one starts the idle countdown to closing the consumer."""
        consumer.subscribers -= 1
        ident = (consumer.key, consumer.queue_url)
        if consumer.subscribers <= 0 and self.consumers.get(ident) is consumer and ident not in self._closers:
            loop = asyncio.get_running_loop()
            self._closers[ident] = loop.create_task(self._close_when_idle(consumer), context=contextvars.Context())

    def totals(self) -> ConsumerStats:
        """Return the counters of every consumer of this loop, open or closed."""
        total = ConsumerStats()
        for consumer in [*self.closed, *self.consumers.values()]:
            total.add(consumer.stats)
        return total

    async def aclose_all(self) -> None:
        """Close every consumer now (for shutdown and tests)."""
        for closer in list(self._closers.values()):
            closer.cancel()
        self._closers.clear()
        consumers, self.consumers = list(self.consumers.values()), {}
        self.closed += consumers
        for consumer in consumers:
            await consumer.aclose()

    async def _close_when_idle(self, consumer: EventConsumer) -> None:
        # The close sits in ``finally`` so that a loop shutting down (which cancels pending tasks) closes it too;
        # a countdown stopped by a new watcher was unregistered by ``join`` and closes nothing.
        ident = (consumer.key, consumer.queue_url)
        me = asyncio.current_task()
        try:
            await asyncio.sleep(self.idle_seconds)
        finally:
            if self._closers.get(ident) is me:
                del self._closers[ident]
                if consumer.subscribers <= 0 and self.consumers.get(ident) is consumer:
                    del self.consumers[ident]
                    self.closed.append(consumer)
                    await consumer.aclose()


_registries: PerLoop[EventConsumerRegistry] = PerLoop(EventConsumerRegistry)


def event_consumers() -> EventConsumerRegistry:
    """Return the event consumer registry of the running event loop."""
    return _registries.get()
