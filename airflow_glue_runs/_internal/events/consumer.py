"""The triggerer's SQS consumer of Glue's events: one per (connection, queue) and event loop, shared by every trigger.

It long-polls the queue configured for this triggerer (``[glue_runs] event_queue_url``), deletes every message it
receives (the queue is this triggerer's own copy of the events), and for each Glue job run event names the run to
the poller of its job (:meth:`~airflow_glue_runs._internal.polling.poller.JobPoller.hint`), which reads it soon.
Events are hints, never state: the run is read and judged as on any poll, so a lost, repeated, late or forged event
changes only when a run's end is seen.

While the consumer is healthy, opted-in watchers are polled at the safety-net interval instead of their
``poll_interval`` (:class:`~airflow_glue_runs._internal.polling.schedule.ReadSchedule`). Any fault (no queue,
access denied, throttling past botocore's retries, a queue full of messages that are no events, no client) is
logged once by its AWS error code and puts the pollers back on ``poll_interval`` at once; the consumer tries again
after a back-off and says when events flow again. A fault never fails a task. The SQS client is built from the same
Airflow connection as the Glue client (:func:`~airflow_glue_runs._internal.polling.shared_client.open_client`).
The registry that starts and closes consumers, and keeps their counters, is :mod:`.registry`.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from airflow_glue_runs._internal.events.messages import Verdict, parse_body
from airflow_glue_runs._internal.events.settings import SECTION
from airflow_glue_runs._internal.polling.poller import poller_registry
from airflow_glue_runs._internal.polling.shared_client import ClientKey, off_loop, open_client

__all__ = ["ConsumerStats", "EventConsumer"]

log = logging.getLogger(__name__)

WAIT_TIME_SECONDS = 20
"""ReceiveMessage's long poll (SQS's longest)."""
MAX_MESSAGES = 10
"""Messages per ReceiveMessage (SQS's most)."""
RETRY_FIRST_SECONDS = 5.0
"""The first back-off after a fault; it doubles on each fault in a row."""
RETRY_MAX_SECONDS = 300.0
"""The longest back-off."""
MALFORMED_IN_A_ROW = 10
"""Messages in a row that are no EventBridge event (none a Glue event) before the queue counts as faulty."""
HEARTBEAT_SECONDS = 180.0
"""How often the consumer writes its heartbeat tag on the queue (shared-queue detection)."""
HEARTBEAT_TAG_PREFIX = "airflow-glue-runs-consumer-"
"""The queue tags of consumers' heartbeats: prefix + ``host:pid`` = epoch seconds."""
STALE_HEARTBEAT_SECONDS = 86400.0
"""A heartbeat tag this old is removed (a triggerer that is gone); SQS allows 50 tags per queue."""

_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
"""The back-off's sleep after a fault; tests replace it."""
_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "AuthorizationError"})


@dataclasses.dataclass
class ConsumerStats:
    """What a consumer did (for tests and benchmarks): SQS calls, messages and the hints they gave."""

    receive_calls: int = 0
    messages: int = 0
    hints: int = 0
    """Messages that named a run a poller of this loop watches (each had it read soon)."""
    unwatched: int = 0
    """Glue job run events for runs no poller of this loop watches."""
    foreign: int = 0
    malformed: int = 0
    delete_calls: int = 0
    deleted: int = 0
    delete_failures: int = 0
    faults: int = 0
    heartbeats: int = 0

    def add(self, other: ConsumerStats) -> None:
        """Add ``other``'s counts to these."""
        for field in dataclasses.fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))


def aws_error_code(error: BaseException) -> str:
    """Return an error's AWS code, or its type name: what the consumer's log may say (no AWS text)."""
    response = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, Mapping) else None
    return str(code) if code else type(error).__name__


def _build_sqs_client(key: ClientKey) -> Any:
    """Build and enter the aiobotocore SQS client of ``key``; runs in a worker thread."""
    from botocore.config import Config

    # The long poll must end before the read timeout.
    return open_client(key, "sqs", Config(read_timeout=WAIT_TIME_SECONDS + 40))[1]


class EventConsumer:
    """Consume one SQS queue of Glue events for the pollers of one client key, in the running event loop.

    :param key: the pollers' (and the SQS client's) connection key.
    :param queue_url: the queue.
    :param safety_interval: seconds between reads of an opted-in watched run while the consumer is healthy.
    """

    def __init__(self, key: ClientKey, queue_url: str, safety_interval: float) -> None:
        self.key = key
        self.queue_url = queue_url
        self.safety_interval = safety_interval
        self.stats = ConsumerStats()
        self.subscribers = 0
        self.healthy = False
        self.fault: str | None = None
        """The AWS error code (or a name) of the fault the consumer is in; None while healthy or starting."""
        self.shared_queue_seen = False
        """Whether another consumer's fresh heartbeat was seen on the queue."""
        self.task: asyncio.Task[None] | None = None
        self._client: Any = None
        self._confirmed = False  # a ReceiveMessage succeeded since the start or the last fault
        self._malformed = 0  # malformed messages in a row
        self._heartbeat_due = 0.0
        self._detect_sharing = True
        self._tag = HEARTBEAT_TAG_PREFIX + f"{socket.gethostname()[:80]}:{os.getpid()}"

    def start(self) -> None:
        """Start consuming in a task of its own (a fresh context: its logs go to the triggerer's, no task's)."""
        loop = asyncio.get_running_loop()
        self.task = loop.create_task(self._run(), name="glue-event-consumer", context=contextvars.Context())

    async def aclose(self) -> None:
        """Stop consuming, close the SQS client, and put the pollers back on their own interval."""
        task, self.task = self.task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])
        await self._close_client()
        if self.healthy:
            self.healthy = False
            poller_registry().set_safety_interval(self.key, None)

    async def _run(self) -> None:
        log.info(
            "Consuming Glue job run events from SQS queue %s (connection %r): watched runs are read when an event "
            "names them, and every %g s as a safety net. The queue must be this triggerer's own (one queue per "
            "triggerer, fed by an SNS topic); a queue shared with another triggerer loses events to it, which the "
            "safety net catches late.",
            self.queue_url,
            self.key.aws_conn_id,
            self.safety_interval,
        )
        faults_in_a_row = 0
        try:
            while True:
                try:
                    if self._client is None:
                        self._client = await off_loop(_build_sqs_client, self.key)
                    await self.receive_once()
                except Exception as error:
                    faults_in_a_row += 1
                    self.stats.faults += 1
                    self._confirmed = False
                    self._set_health(False, aws_error_code(error))
                    if not hasattr(error, "response"):  # not an AWS answer: maybe a bug; its text is no AWS text
                        log.debug("Glue event consumer fault", exc_info=True)
                    await _sleep(min(RETRY_FIRST_SECONDS * 2 ** (faults_in_a_row - 1), RETRY_MAX_SECONDS))
                else:
                    faults_in_a_row = 0
        finally:
            await self._close_client()

    async def receive_once(self) -> None:
        """Receive one batch (a short poll to prove the queue, then long polls), hint, delete, heartbeat."""
        client = self._client
        self.stats.receive_calls += 1
        answer = await client.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=MAX_MESSAGES,
            WaitTimeSeconds=WAIT_TIME_SECONDS if self._confirmed else 0,
        )
        self._confirmed = True
        messages = answer.get("Messages") or []
        self._take(messages)
        if messages:
            await self._delete(messages)
        if self._malformed >= MALFORMED_IN_A_ROW:
            self._set_health(False, "MalformedMessages")
        else:
            self._set_health(True)
        await self._heartbeat()

    def _take(self, messages: list[Mapping[str, Any]]) -> None:
        """Sort the messages and hint the runs they name (never their text: it may hold secrets)."""
        pollers = poller_registry()
        stats = self.stats
        for message in messages:
            stats.messages += 1
            parsed = parse_body(message.get("Body"))
            if parsed.verdict is Verdict.RUN:
                self._malformed = 0
                if pollers.hint(self.key, parsed.job_name, parsed.run_id):
                    stats.hints += 1
                else:
                    stats.unwatched += 1
            elif parsed.verdict is Verdict.FOREIGN:
                stats.foreign += 1
            else:
                stats.malformed += 1
                self._malformed += 1

    async def _delete(self, messages: list[Mapping[str, Any]]) -> None:
        """Delete what was received, watched or not: no other consumer of this triggerer wants it."""
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        self.stats.delete_calls += 1
        answer = await self._client.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
        self.stats.deleted += len(answer.get("Successful") or [])
        failed = answer.get("Failed") or []
        if failed:  # they come back after their visibility timeout: at most a repeated hint
            self.stats.delete_failures += len(failed)
            log.debug("Could not delete %d message(s) from %s: %s", len(failed), self.queue_url, failed[0].get("Code"))

    def _set_health(self, healthy: bool, code: str | None = None) -> None:
        """Follow the consumer's health: log a change once, and set the pollers' safety net accordingly."""
        if healthy:
            if not self.healthy:
                if self.fault is not None:
                    log.info(
                        "Glue job run events flow again from %s; the %g s safety net is back.",
                        self.queue_url,
                        self.safety_interval,
                    )
                self.healthy, self.fault = True, None
                poller_registry().set_safety_interval(self.key, self.safety_interval)
            return
        if code != self.fault:
            hint = (
                " (check the event rule: the queue should receive only Glue job run events)"
                if code == "MalformedMessages"
                else ""
            )
            log.warning(
                "Not using Glue job run events from %s: %s%s. Watched runs are polled at their poll_interval "
                "until the queue answers again (option [%s] event_queue_url).",
                self.queue_url,
                code,
                hint,
                SECTION,
            )
        else:
            log.debug("Glue event consumer still failing: %s", code)
        self.fault = code
        if self.healthy:
            self.healthy = False
            poller_registry().set_safety_interval(self.key, None)

    async def _heartbeat(self) -> None:
        """Tag the queue with this consumer's heartbeat; warn once when another consumer's is fresh.

        Optional: a triggerer without ``sqs:TagQueue`` / ``sqs:ListQueueTags`` skips it (logged at debug level).
        """
        loop = asyncio.get_running_loop()
        if not self._detect_sharing or loop.time() < self._heartbeat_due:
            return
        self._heartbeat_due = loop.time() + HEARTBEAT_SECONDS
        now = time.time()
        try:
            await self._client.tag_queue(QueueUrl=self.queue_url, Tags={self._tag: str(int(now))})
            tags = (await self._client.list_queue_tags(QueueUrl=self.queue_url)).get("Tags") or {}
        except Exception as error:
            code = aws_error_code(error)
            if code in _DENIED:
                self._detect_sharing = False
            log.debug("No heartbeat tag on %s (%s): shared-queue detection skipped", self.queue_url, code)
            return
        self.stats.heartbeats += 1
        ages = {name: now - _epoch(value) for name, value in tags.items() if name.startswith(HEARTBEAT_TAG_PREFIX)}
        others = sorted(name for name, age in ages.items() if name != self._tag and age < 2.5 * HEARTBEAT_SECONDS)
        if others and not self.shared_queue_seen:
            self.shared_queue_seen = True
            log.warning(
                "SQS queue %s is consumed by another triggerer too (%s): each consumer gets only part of the events, "
                "and the runs whose events it misses are seen by the %g s safety net only. Give each triggerer a "
                "queue of its own ([%s] event_queue_url), fed by one SNS topic.",
                self.queue_url,
                others[0].removeprefix(HEARTBEAT_TAG_PREFIX),
                self.safety_interval,
                SECTION,
            )
        stale = [name for name, age in ages.items() if age > STALE_HEARTBEAT_SECONDS]
        if stale:
            try:
                await self._client.untag_queue(QueueUrl=self.queue_url, TagKeys=stale)
            except Exception as error:
                log.debug("Could not remove stale heartbeat tags from %s (%s)", self.queue_url, aws_error_code(error))

    async def _close_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.__aexit__(None, None, None)


def _epoch(value: object) -> float:
    try:
        return float(str(value))
    except ValueError:
        return 0.0
