"""``GlueJobRunTrigger``: wait on a Glue job run in the triggerer, cheaply, and report how it ended.

Hundreds of these run at once in one triggerer. None of them owns an AWS client or calls Glue on its own: they
subscribe to the process-wide batched poller (:mod:`airflow_glue_runs._internal.polling.poller`), which reads the
watched runs of
a job together through one shared client (:mod:`airflow_glue_runs._internal.polling.shared_client`). Each trigger
applies the
shared waiting policy (:class:`~airflow_glue_runs._internal.run.waiting.RunWatch`) to its run and yields exactly one
event
whose payload is a :class:`~airflow_glue_runs._internal.run.waiting.WaitResult` as JSON. The trigger reports; the
operator or
sensor that resumes decides (``raise_for_result``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_glue_runs._internal.events.registry import event_consumers
from airflow_glue_runs._internal.glue_logs.forwarding import RunLogs
from airflow_glue_runs._internal.glue_logs.lines import LogPosition
from airflow_glue_runs._internal.glue_logs.locations import ForwardLogs, check_forward_logs
from airflow_glue_runs._internal.glue_logs.reader import LogFollower, follow_logs
from airflow_glue_runs._internal.polling.job_defaults import job_defaults_cache
from airflow_glue_runs._internal.polling.observations import (
    PollFailed,
    PollSkipped,
    RunDenied,
    RunGone,
    RunRead,
    Watcher,
)
from airflow_glue_runs._internal.polling.poller import poller_registry
from airflow_glue_runs._internal.polling.shared_client import ClientKey, lease_client
from airflow_glue_runs._internal.polling.watch import WatchedRun, watch_run
from airflow_glue_runs._internal.run.secrets import TaskSecrets, describe_error, scrub
from airflow_glue_runs._internal.run.waiting import RunWatch, WaitResult, WaitUntil
from airflow_glue_runs._internal.start.options import check_flag, check_seconds, check_wait_until
from airflow_glue_runs._internal.start.request import check_name
from airflow_glue_runs.exceptions import GlueApiError
from airflow_glue_runs.job_run import JobRun, JobRunState

__all__ = ["DEFAULT_POLL_INTERVAL", "GlueJobRunTrigger"]

DEFAULT_POLL_INTERVAL = 30.0
"""Seconds between two reads of a watched run, unless the caller says otherwise."""
REBUILT_AFTER = 120.0
"""A trigger that starts this many seconds after the deferral is taken as rebuilt after a triggerer restart: it
forwards only lines from its own start on, so that none is forwarded twice (lines the run printed while the
triggerer was down are not forwarded)."""
QUEUE_DEADLINE_MARGIN = 1.0
"""Seconds after a queued run's ``max_queue_wait`` runs out that the trigger has it read (no event says so)."""


def _now() -> datetime:
    """Return the wall-clock time an observation is judged at (timezone-aware; tests replace it)."""
    return datetime.now(UTC)


class GlueJobRunTrigger(BaseTrigger):
    """Wait in the triggerer until a Glue job run ends, or stays queued (WAITING) too long.

    Fires one event whose payload is ``WaitResult.to_json()``: the resolution (succeeded, running, failed,
    timed_out, queue_timeout, not_found, access_denied), a message, and the run as last seen without its job arguments
    (events are stored and logged by Airflow, and arguments may hold secrets). Glue's ErrorMessage and StateDetail,
    and AWS error texts, are masked before they reach the trigger's log or its event: the secret values of the run's
    merged arguments (the job's DefaultArguments, read once per job by the triggerer, overlaid with the run's)
    whose names look sensitive or are listed in ``secret_arguments`` read ``***``. Throttling and transient
    faults cost a poll; a run or job that no longer exists, or access denied, resolves the wait; anything else
    raises with its traceback.

    :param job_name: the Glue job.
    :param run_id: the run to wait on.
    :param poll_interval: seconds between reads of the run. Runs of one job are read together at the smallest
        interval among their triggers. When the triggerer consumes Glue's events (``[glue_runs] event_queue_url``)
        and the trigger does not forward logs, the run is read when an event names it, and otherwise every
        ``[glue_runs] event_safety_interval`` seconds if that is longer (every ``poll_interval`` while the events
        do not flow); a ``max_queue_wait`` deadline is still met on time.
    :param max_queue_wait: seconds the run may stay WAITING (counted from its StartedOn) before the wait ends
        with ``queue_timeout``; None waits as long as Glue keeps it queued.
    :param stop_on_kill: when a user clears or marks the deferred task, ask Glue to stop the run (Airflow 3.3+
        calls :meth:`on_kill` then).
    :param wait_until: ``"end"`` (default) or ``"running"``: fire ``running`` once the run is RUNNING (for
        ``running_for`` seconds if set) instead of waiting for its end.
    :param running_for: seconds the run must stay RUNNING, by the trigger's clock; only with ``"running"``. The
        trigger then wakes on every read of its run, not only on state changes.
    :param running_since: when the task first saw the run RUNNING (epoch seconds), to count ``running_for`` from;
        None: from the trigger's own first sight (a trigger rebuilt after a triggerer restart starts counting again).
    :param forward_logs: ``False``, ``True`` (driver lines) or ``"all"`` (executors too): log the run's CloudWatch
        lines in this trigger's log, read by the shared reader (:mod:`airflow_glue_runs._internal.glue_logs.reader`),
        then a
        final read after the run ends; the event carries the position reached (``log_position``).
    :param secret_arguments: names of job arguments whose values are masked in Glue's texts, AWS error texts and
        forwarded lines (with the sensitive-looking ones). The values are read from the run and the job, never
        carried in the kwargs.
    :param log_position: where forwarding stands (``LogPosition.to_json()``); None: from the run's start.
    :param deferred_at: when the task deferred (epoch seconds), to tell a triggerer restart (:data:`REBUILT_AFTER`).
    :param aws_conn_id: the Airflow ``aws`` connection (None: boto3's default credential chain).
    :param region_name: the AWS region, overriding the connection's.
    :param verify: TLS certificate verification: a bool or the path of a CA bundle; None uses the connection's.
    :param botocore_config: botocore ``Config`` keyword arguments (JSON-serializable), overriding the
        connection's ``config_kwargs``.
    :param withhold_glue_text: ignored; accepted so that a trigger serialized by an earlier version (which withheld
        Glue's text) still rebuilds after an upgrade.
    """

    def __init__(
        self,
        *,
        job_name: str,
        run_id: str,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        max_queue_wait: float | None = None,
        stop_on_kill: bool = False,
        wait_until: WaitUntil = "end",
        running_for: float | None = None,
        running_since: float | None = None,
        forward_logs: ForwardLogs = False,
        secret_arguments: Collection[str] = (),
        log_position: Mapping[str, Any] | None = None,
        deferred_at: float | None = None,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: Mapping[str, Any] | None = None,
        withhold_glue_text: object = None,
    ) -> None:
        del withhold_glue_text  # Glue's text is masked now, never withheld
        super().__init__()  # type: ignore[no-untyped-call]
        self.job_name = check_name("job_name", job_name)
        self.run_id = check_name("run_id", run_id)
        self.poll_interval = check_seconds("poll_interval", poll_interval, allow_zero=False) or DEFAULT_POLL_INTERVAL
        self.max_queue_wait = check_seconds("max_queue_wait", max_queue_wait, allow_none=True, allow_zero=False)
        self.stop_on_kill = check_flag("stop_on_kill", stop_on_kill)
        self.wait_until, self.running_for = check_wait_until(wait_until, running_for)
        self.running_since = check_seconds("running_since", running_since, allow_none=True)
        self.forward_logs = check_forward_logs(forward_logs)
        self.secret_arguments = list(secret_arguments)
        self.log_position = dict(log_position) if log_position is not None else None
        self.deferred_at = deferred_at
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.verify = verify
        self.botocore_config = dict(botocore_config) if botocore_config is not None else None
        self._watcher: Watcher | None = None
        self._watch: WatchedRun | None = None
        self._secrets = TaskSecrets(secret_arguments=tuple(self.secret_arguments))

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the class path and the keyword arguments that rebuild this trigger (primitives only)."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_name": self.job_name,
                "run_id": self.run_id,
                "poll_interval": self.poll_interval,
                "max_queue_wait": self.max_queue_wait,
                "stop_on_kill": self.stop_on_kill,
                "wait_until": self.wait_until,
                "running_for": self.running_for,
                "running_since": self.running_since,
                "forward_logs": self.forward_logs,
                "secret_arguments": self.secret_arguments,
                "log_position": self.log_position,
                "deferred_at": self.deferred_at,
                "aws_conn_id": self.aws_conn_id,
                "region_name": self.region_name,
                "verify": self.verify,
                "botocore_config": self.botocore_config,
            },
        )

    @property
    def client_key(self) -> ClientKey:
        """Return the key of the shared client this trigger uses."""
        return ClientKey.of_connection(self)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Watch the run through the shared poller and yield one event when the wait is over."""
        # Forwarding logs needs a read every poll_interval, and wakes the trigger on every read (it logs the lines
        # read meanwhile), and so does waiting for RUNNING (Glue sends no event for it, and counting running_for needs
        # every read); else the trigger wakes on state changes, and Glue's events may stand in for reads.
        wakeable = not self.forward_logs and self.wait_until == "end"
        safety_interval = event_consumers().settings.safety_interval
        if wakeable and event_consumers().settings.queue_url is not None:
            self.log.info(
                "Waiting for Glue job run %s of job %s: read when Glue's events say it changed, and every %g s as a "
                "safety net (every %g s while the triggerer's event queue does not answer).",
                self.run_id,
                self.job_name,
                max(self.poll_interval, safety_interval),
                self.poll_interval,
            )
        else:
            self.log.info(
                "Waiting for Glue job run %s of job %s (read every %g s together with the job's other watched runs).",
                self.run_id,
                self.job_name,
                self.poll_interval,
            )
        watch = self._run_watch()
        position = None
        self._watch = watch_run(
            self.client_key,
            self.job_name,
            self.run_id,
            self.poll_interval,
            changes_only=self._changes_only,
            wakeable=wakeable,
        )
        async with self._watch as watcher, self._follow_logs() as follower:
            self._watcher = watcher
            result = await self._wait(watch, watcher, follower)
            if follower is not None:
                if result.run is not None and result.run.is_terminal:
                    await follower.final_flush(result.run)
                self._log_lines(follower)
                position = follower.logs.position.to_json() if follower.logs.position else self.log_position
        # The watcher is gone before the event leaves, so a loop that ends right after (dag.test) ends clean.
        self._watcher = self._watch = None
        if redactor := self._secrets.redactor():  # nothing to hide (the common case): no copy of the verdict
            result = result.redacted(redactor)
        self.log.info("%s", result.message)
        payload = result.without_arguments().to_json()
        if self.forward_logs:
            payload["log_position"] = position
        yield TriggerEvent(payload)  # type: ignore[no-untyped-call]

    def _run_watch(self) -> RunWatch:
        """Return the waiting policy of this trigger's run (its ``running_for`` count carried over the deferral)."""
        since = datetime.fromtimestamp(self.running_since, UTC) if self.running_since is not None else None
        return RunWatch(
            self.job_name, self.run_id, self.max_queue_wait, self.wait_until, self.running_for, running_since=since
        )

    @property
    def _changes_only(self) -> bool:
        return not self.forward_logs and not self.running_for

    def _follow_logs(self) -> contextlib.AbstractAsyncContextManager[LogFollower | None]:
        # Without forwarding, no generator-based context manager kept for the whole wait by each of thousands.
        return self._forwarding() if self.forward_logs else contextlib.nullcontext()

    @contextlib.asynccontextmanager
    async def _forwarding(self) -> AsyncIterator[LogFollower]:
        position = LogPosition.from_json(self.log_position) if self.log_position else None
        logs = RunLogs(self.job_name, self.run_id, self.forward_logs, position, secret_arguments=self.secret_arguments)
        if self.deferred_at is not None and time.time() - self.deferred_at > REBUILT_AFTER:
            logs.not_before = int(time.time() * 1000)
            self.log.info(
                "This trigger started %.0f s after the task deferred (a triggerer restart?): forwarding Glue log "
                "lines from now on only, so that none is repeated.",
                time.time() - self.deferred_at,
            )
        async with follow_logs(self.client_key, logs, self.poll_interval) as follower:
            yield follower

    def _log_lines(self, follower: LogFollower) -> None:
        notes, lines = follower.take()
        for level, note in notes:
            self.log.log(level, "%s", note)
        for line in lines:
            self.log.info("%s", line)

    async def _wait(self, watch: RunWatch, watcher: Watcher, follower: LogFollower | None) -> WaitResult:
        skipped = 0
        while True:
            observation = await watcher.next()
            if follower is not None:
                if isinstance(observation, RunRead):
                    follower.see(observation.run)
                self._log_lines(follower)
            if isinstance(observation, RunRead):
                if skipped:
                    self.log.info("Glue answered again after %d skipped poll(s).", skipped)
                    skipped = 0
                run = await self._masked(observation.run)
                now = _now()
                lines, result = watch.observe(run, now)
                for line in lines:
                    self.log.info("%s", line)
                if result is not None:
                    return result
                self._read_at_queue_deadline(watch, watcher, run, now)
            elif isinstance(observation, PollSkipped):
                skipped += 1
                if skipped == 1 or skipped % 10 == 0:  # a long throttling spell should not flood the task log
                    self.log.warning(
                        "Could not read Glue job run %s (%d poll(s) skipped so far): %s",
                        self.run_id,
                        skipped,
                        self._secrets.redact(observation.reason),
                    )
            # AWS error texts are masked with the values known so far: the job's defaults are read for Glue's text only.
            elif isinstance(observation, RunGone):
                return watch.vanished(self._secrets.redact(observation.reason))
            elif isinstance(observation, RunDenied):
                return watch.denied(self._secrets.redact(observation.reason))
            elif isinstance(observation, PollFailed):
                scrub(observation.error, self._secrets.redact)
                observation.reraise()

    def _read_at_queue_deadline(self, watch: RunWatch, watcher: Watcher, run: JobRun, now: datetime) -> None:
        """Have a queued run read when its ``max_queue_wait`` runs out: no event signals that, and polls may be slow."""
        queued_since = run.started_on or watch.first_seen_queued
        if run.state is not JobRunState.WAITING or self.max_queue_wait is None or queued_since is None:
            return
        left = (queued_since - now).total_seconds() + self.max_queue_wait + QUEUE_DEADLINE_MARGIN
        poller_registry().read_at(watcher, asyncio.get_running_loop().time() + left)

    async def _masked(self, run: JobRun) -> JobRun:
        """Return the run with its Glue text masked, reading the job's defaults first if there is text to mask."""
        self._secrets.see(run)
        if self._secrets.wants_defaults(run):
            await self._read_job_defaults()
        return run.with_glue_text(self._secrets.redact)

    async def _read_job_defaults(self) -> None:
        """Learn the job's DefaultArguments once, from the loop's shared cache; a failure is logged, masked."""
        if self._secrets.job_defaults is not None:
            return
        defaults = await job_defaults_cache().get(self.client_key, self.job_name)
        self._secrets.job_defaults = defaults.arguments or {}
        if defaults.error is not None:
            self.log.warning(
                "Could not read the DefaultArguments of Glue job %s; Glue's texts are masked with the secret "
                "values of the run's own arguments only: %s",
                self.job_name,
                self._secrets.redact(describe_error(defaults.error)),
            )

    async def on_kill(self) -> None:
        """Stop the Glue run when a user cleared or marked the deferred task, if ``stop_on_kill``."""
        if not self.stop_on_kill:
            self.log.info(
                "The deferred task was killed; Glue job run %s of job %s keeps running (stop_on_kill=False).",
                self.run_id,
                self.job_name,
            )
            return
        self.log.info("The deferred task was killed: asking Glue to stop job run %s of %s.", self.run_id, self.job_name)
        try:
            async with lease_client(self.client_key) as shared:
                result = await shared.hook.astop_job_runs(
                    self.job_name, [self.run_id], client=shared.client, redact=self._secrets.redact
                )
        except GlueApiError as error:
            self.log.warning(
                "Could not stop Glue job run %s of job %s: %s",
                self.run_id,
                self.job_name,
                self._secrets.redact(str(error)),
            )
            return
        if self.run_id in result.stopped:
            self.log.info("Glue accepted to stop job run %s of job %s.", self.run_id, self.job_name)

    async def cleanup(self) -> None:
        """End the watch if ``run()`` left without doing so; the poller (and event consumer) stop when unwatched."""
        watch, self._watch, self._watcher = self._watch, None, None
        if watch is not None:
            await watch.close()
