"""Forward one Glue run's CloudWatch lines into the task log: the per-run state, error policy and worker reader.

:class:`RunLogs` holds what forwarding one run needs between reads (where its streams are, the de-duplication
position, the secret values to mask, the error state) and does no I/O; the worker's
:class:`WorkerLogForwarder` (operator not deferred, sensor poke/reschedule) and the triggerer's shared reader
(:mod:`airflow_glue_runs._internal.glue_logs.reader` and its
:mod:`~airflow_glue_runs._internal.glue_logs.batched_reads`) both use it.

Log forwarding never changes how a task ends: every CloudWatch error is caught here and gives at most one
warning per kind, its text masked with the run's secret values (:meth:`RunLogs.redact`, the same
:class:`~airflow_glue_runs._internal.masking.Redactor` as the forwarded lines). AccessDenied and unexpected errors
stop forwarding for the run, throttling and transient faults skip reads with a growing back-off, a missing group
or stream (normal before the run writes) is noted once.

Every event is checked against the run's own streams before it is taken
(:meth:`~airflow_glue_runs._internal.glue_logs.locations.LogLocation.own_events`): a Logs endpoint may ignore
the read's stream names or prefix and answer other runs' streams.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from airflow_glue_runs._internal.glue_logs.lines import LogPosition, TakenLines, stream_key
from airflow_glue_runs._internal.glue_logs.locations import ForwardLogs, LogLocation, locate_logs, merge_arguments
from airflow_glue_runs._internal.masking import Redactor, airflow_min_secret_length
from airflow_glue_runs._internal.start.arguments import secret_values_in
from airflow_glue_runs.exceptions import ErrorKind, classify_error
from airflow_glue_runs.job_run import JobRun

__all__ = [
    "FINAL_FLUSH_GRACE",
    "INGEST_LAG",
    "RunLogs",
    "WorkerLogForwarder",
    "secret_values",
]

INGEST_LAG = 2.0
"""Seconds a read window ends before now, so events CloudWatch ingests a little late are not skipped."""
FINAL_FLUSH_GRACE = 5.0
"""Seconds after the run's CompletedOn the final read waits for, at most (Glue ingests lines after the end)."""
EXECUTOR_EVERY = 3
"""Executor streams are read every this many driver reads (they are many, and read one run at a time)."""
_MAX_SKIP = 8


def secret_values(arguments: Mapping[str, str], listed: Collection[str]) -> tuple[str, ...]:
    """Return the values of secret arguments (listed by the user, or sensitive by name), longest first."""
    return tuple(sorted(set(secret_values_in(arguments, listed)), key=len, reverse=True))


def _ms(moment: datetime | None, default: float) -> int:
    return int((moment.timestamp() if moment is not None else default) * 1000)


def _error_code(error: BaseException) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, Mapping):
        return str(response.get("Error", {}).get("Code") or type(error).__name__)
    return type(error).__name__


def is_backoff_error(error: BaseException) -> bool:
    """Whether a failed read calls for backing off: throttling, 5xx, timeouts, dropped connections.

    The project's one classification of AWS errors judges it, as it does for the Glue waiters.
    """
    return classify_error(error) == ErrorKind.TRANSIENT


class RunLogs:
    """What forwarding one run's lines needs between reads; no I/O.

    :param job_name: the run's job.
    :param run_id: the run id.
    :param mode: ``True`` (driver) or ``"all"`` (driver and executors).
    :param position: where forwarding stands (None: from the run's StartedOn).
    :param secret_arguments: names of arguments whose values are masked besides the sensitive-looking ones.
    :param secrets: secret values known up front (the operator's), masked besides those read from the run.
    """

    def __init__(
        self,
        job_name: str,
        run_id: str,
        mode: ForwardLogs,
        position: LogPosition | None = None,
        *,
        secret_arguments: Collection[str] = (),
        secrets: Sequence[str] = (),
    ) -> None:
        self.job_name = job_name
        self.run_id = run_id
        self.mode = mode
        self.position = position
        self.secret_arguments = tuple(secret_arguments)
        self.secrets = tuple(secrets)
        self._redact = Redactor(self.secrets, min_length=airflow_min_secret_length())
        self.location: LogLocation | None = None
        self.not_before: int | None = None
        """Epoch ms before which nothing is forwarded (a trigger rebuilt after a triggerer restart)."""
        self.disabled = False
        self.skip = 0
        self._backoff = 0
        self._warned: set[str] = set()
        self.reads = 0
        self.notes: list[tuple[int, str]] = []
        """Notes for the task log that wait for the reader's caller (:meth:`pop_notes`)."""
        self.foreign_events = 0
        """Events of other streams dropped so far (a server that ignored the read's stream names or prefix)."""

    def locate(self, run: JobRun, job_defaults: Mapping[str, str] | None) -> None:
        """Find the run's streams from the run as read and the job's DefaultArguments; gather secret values."""
        arguments = merge_arguments(job_defaults, run.arguments)
        self.location = locate_logs(self.run_id, run.log_group_name, arguments)
        found = secret_values(arguments, self.secret_arguments)
        self.secrets = tuple(sorted(set(self.secrets) | set(found), key=len, reverse=True))
        self._redact = Redactor(self.secrets, min_length=airflow_min_secret_length())
        if self.position is None:
            self.position = LogPosition(_ms(run.started_on, time.time()))
        if self.not_before is not None:
            self.position.advance_to(self.not_before)

    @property
    def ready(self) -> bool:
        """Whether the run's streams are known and forwarding goes on."""
        return self.location is not None and self.position is not None and not self.disabled

    def executors_due(self, final: bool = False) -> bool:
        """Return whether this read also reads executor streams (``"all"``, at a lower cadence, always at the end)."""
        return self.mode == "all" and (final or self.reads % EXECUTOR_EVERY == 0)

    def driver_keys(self) -> list[tuple[str, str]]:
        """Return (group, stream) of the driver's streams."""
        return list(self.location.driver) if self.location is not None else []

    def window_start(self, group: str, stream: str = "", prefix: str = "") -> int:
        """Return the inclusive ``startTime`` (ms) of the next read of one stream, or of a prefix read."""
        assert self.position is not None
        if stream:
            return self.position.stream_start(stream_key(group, stream))
        return self.position.prefix_start(stream_key(group, prefix))

    def take(self, group: str, events: Iterable[Mapping[str, Any]], *, prefix_read: bool = False) -> list[str]:
        """Take the new events of one group and return the task-log lines, masked and labelled.

        Only events of the run's own streams are taken (driver streams, or executor streams for a
        ``prefix_read``), whatever the server answered; events of other streams are dropped and counted in a
        DEBUG note (:meth:`pop_notes`).
        """
        assert self.position is not None
        assert self.location is not None
        own = self.location.own_events(group, events, "executor" if prefix_read else "driver")
        if own.foreign:
            self.foreign_events += own.foreign
            self.notes.append(
                (
                    logging.DEBUG,
                    f"Dropped {own.foreign} CloudWatch event(s) of other streams from a read of {group}: the Logs "
                    f"endpoint answered streams the read did not ask for, and run {self.run_id} forwards only its own.",
                )
            )
        return self.render(self.position.take(group, own.events))

    def pop_notes(self) -> list[tuple[int, str]]:
        """Return and forget the (logging level, message) notes left for the task log, secret values masked.

        Masked when taken, not when noted: a note made before the run's streams were located (a failed GetJob)
        is masked with the secret values its merged arguments gave since.
        """
        notes, self.notes = self.notes, []
        return [(level, self.redact(note)) for level, note in notes]

    def redact(self, text: str) -> str:
        """Return ``text`` with the run's secret values masked (its merged arguments' once located)."""
        return self._redact(text)

    def drain(self) -> list[str]:
        """Return the lines still held at the end of the run."""
        return self.render(self.position.drain()) if self.position is not None else []

    def render(self, taken: TakenLines) -> list[str]:
        """Return the task-log text of taken lines: ``[glue driver] text``, secret values masked."""
        assert self.location is not None
        lines = [
            f"[glue {self.location.label(line.group, line.stream)}] {self._redact(line.text)}" for line in taken.lines
        ]
        if (notice := taken.notice()) is not None:
            lines.append(notice)
        return lines

    def succeeded(self) -> None:
        """Record a read that worked: the back-off ends."""
        self._backoff = 0

    def failed(self, error: BaseException, group: str, region: str | None) -> tuple[int, str] | None:
        """Judge a failed read; return (logging level, message) the first time for its kind, else None.

        AccessDenied and unexpected errors stop forwarding for the run; throttling and transient faults skip
        the next reads, twice as many each time (at most 8); a missing group or stream is normal at start.
        """
        code = _error_code(error)
        text = self.redact(str(error))  # AWS's answer may quote the run's inputs
        if code == "ResourceNotFoundException":
            message = f"No Glue log group or stream {group} yet; still looking ({text})."
            return self._once("missing", logging.INFO, message)
        if code in ("AccessDeniedException", "AccessDenied", "UnauthorizedOperation"):
            self.disabled = True
            arn = f"arn:aws:logs:{region or '<region>'}:<account>:log-group:{group}:*"
            message = (
                f"Not forwarding Glue logs of run {self.run_id} any more: CloudWatch Logs denied the read ({text}). "
                f"Add the permission logs:FilterLogEvents on {arn} to the connection's role. The task still ends "
                "as the Glue run ends."
            )
            return self._once("denied", logging.WARNING, message)
        if is_backoff_error(error):
            self._backoff = min(_MAX_SKIP, max(1, self._backoff * 2))
            self.skip = self._backoff
            message = f"Glue log forwarding of run {self.run_id} backs off ({code}: {text}); lines are read later."
            return self._once("throttled", logging.WARNING, message)
        self.disabled = True
        message = f"Not forwarding Glue logs of run {self.run_id} any more: {code}: {text}"
        return self._once("other", logging.WARNING, message)

    def _once(self, kind: str, level: int, message: str) -> tuple[int, str] | None:
        if kind in self._warned:
            return None
        self._warned.add(kind)
        return level, message


def filter_request(
    group: str, start: int, end: int | None, *, names: Sequence[str] = (), prefix: str = ""
) -> dict[str, Any]:
    """Return the FilterLogEvents arguments of one read window (``interleaved`` for moto; AWS ignores it)."""
    request: dict[str, Any] = {"logGroupName": group, "startTime": max(0, start), "interleaved": True}
    if end is not None:
        request["endTime"] = end
    if names:
        request["logStreamNames"] = list(names)
    if prefix:
        request["logStreamNamePrefix"] = prefix
    return request


class WorkerLogForwarder:
    """Read one run's lines on the worker (boto3) and log them through ``log``; never raises.

    :param logs: what forwarding the run needs (:class:`RunLogs`).
    :param client: returns the boto3 CloudWatch Logs client (built on first use).
    :param job_defaults: returns the job's DefaultArguments (one GetJob, on first use).
    :param log: the task's logger.
    :param region: the region, named in an AccessDenied warning.
    """

    def __init__(
        self,
        logs: RunLogs,
        *,
        client: Callable[[], Any],
        job_defaults: Callable[[], Mapping[str, str]],
        log: logging.Logger | Any,
        region: str | None,
    ) -> None:
        self.logs = logs
        self._client = client
        self._job_defaults = job_defaults
        self.log = log
        self.region = region

    def position_json(self) -> dict[str, Any] | None:
        """Return the position reached, as JSON data (None before the first read)."""
        return self.logs.position.to_json() if self.logs.position is not None else None

    def poll(self, run: JobRun, *, final: bool = False) -> None:
        """Read and log what the run's streams gained; with ``final`` read up to now and the held lines too."""
        try:
            self._poll(run, final)
        except Exception as error:  # never let forwarding fail the task
            self.logs.disabled = True
            self.log.warning("Not forwarding Glue logs of run %s any more: %s", run.id, self.logs.redact(str(error)))

    def final_flush(self, run: JobRun, *, sleep: Callable[[float], None] = time.sleep) -> None:
        """Wait (bounded) for lines Glue ingests after the run ended, read them, and log the held lines."""
        completed = run.completed_on.timestamp() if run.completed_on is not None else time.time()
        delay = min(FINAL_FLUSH_GRACE, max(0.0, completed + FINAL_FLUSH_GRACE - time.time()))
        if self.logs.mode and not self.logs.disabled and delay > 0:
            sleep(delay)
        self.poll(run, final=True)

    def _poll(self, run: JobRun, final: bool) -> None:
        logs = self.logs
        if logs.disabled:
            return
        if logs.location is None:
            logs.locate(run, self._job_defaults())
            for level, note in logs.pop_notes():
                self.log.log(level, "%s", note)
        if logs.skip and not final:
            logs.skip -= 1
            return
        end = None if final else int((time.time() - INGEST_LAG) * 1000)
        reads = [(group, stream, "") for group, stream in logs.driver_keys()]
        if logs.executors_due(final):
            assert logs.location is not None
            reads += [(group, "", prefix) for group, prefix in logs.location.executors]
        logs.reads += 1
        for group, stream, prefix in reads:
            start = logs.window_start(group, stream, prefix)
            request = filter_request(group, start, end, names=[stream] if stream else (), prefix=prefix)
            try:
                events = [
                    event
                    for page in self._client().get_paginator("filter_log_events").paginate(**request)
                    for event in page.get("events", ())
                ]
            except Exception as error:
                if (verdict := logs.failed(error, group, self.region)) is not None:
                    self.log.log(*verdict)
                if logs.disabled or logs.skip:
                    return
                continue
            logs.succeeded()
            lines = logs.take(group, events, prefix_read=bool(prefix))
            for level, note in logs.pop_notes():
                self.log.log(level, "%s", note)
            for line in lines:
                self.log.info("%s", line)
        if final:
            for line in logs.drain():
                self.log.info("%s", line)


def worker_forwarder(
    hook: Any,
    job_name: str,
    run_id: str,
    mode: ForwardLogs,
    *,
    log: logging.Logger | Any,
    position: Mapping[str, Any] | None = None,
    secret_arguments: Collection[str] = (),
    secrets: Sequence[str] = (),
    job_defaults: Callable[[], Mapping[str, str]] | None = None,
) -> WorkerLogForwarder | None:
    """Return the worker's forwarder of one run's lines through ``hook``'s connection, or None when ``mode`` is off.

    :param hook: a :class:`~airflow_glue_runs.hooks.GlueJobRunHook` (its connection, region and config).
    :param position: a :meth:`LogPosition.to_json` to go on from (None: the run's start).
    :param job_defaults: the task's own read of the job's DefaultArguments, when it has one to share (it reports
        its own failures); by default the forwarder reads them itself, once.
    """
    if not mode:
        return None
    clients: list[Any] = []

    def client() -> Any:
        if not clients:
            clients.append(hook.logs_client())
        return clients[0]

    shared_defaults = job_defaults

    def own_defaults() -> Mapping[str, str]:
        try:
            return dict(hook.get_job_default_arguments(job_name))
        except Exception as error:  # the run's own arguments still locate the logs
            message = f"Could not read the DefaultArguments of Glue job {job_name} for its log location: {error}"
            logs.notes.append((logging.WARNING, message))  # logged once located, masked
            return {}

    logs = RunLogs(
        job_name,
        run_id,
        mode,
        LogPosition.from_json(position) if position else None,
        secret_arguments=secret_arguments,
        secrets=secrets,
    )
    return WorkerLogForwarder(
        logs, client=client, job_defaults=shared_defaults or own_defaults, log=log, region=hook.conn_region_name
    )
