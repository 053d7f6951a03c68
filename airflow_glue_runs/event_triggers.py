"""``GlueJobRunEndedTrigger``: an asset watcher's trigger that fires when a run of a Glue job ends, whoever started it.

Use it in Airflow 3's event-driven scheduling::

    Asset("s3://lake/curated/orders", watchers=[AssetWatcher(name="orders_etl_done",
        trigger=GlueJobRunEndedTrigger(job_name="orders-etl"))])

It fires one event for each run of the job that newly ends in the chosen states, started from the console, a Glue
trigger, Step Functions or another DAG alike. It never calls Glue itself: it subscribes to the triggerer's feed of
that job (:mod:`airflow_glue_runs._internal.polling.job_feed`), which reads one GetJobRuns page per job per
interval through the shared client however many watchers of the job run. Which runs are news is decided by
:class:`~airflow_glue_runs._internal.polling.run_ends.EndWatch`; on Airflow 3.3 its position is kept in the asset
state store (:mod:`airflow_glue_runs._internal.polling.position_store`). See docs/asset-watcher.md.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from airflow_glue_runs._internal.compat import asset_state_stores
from airflow_glue_runs._internal.console import console_url
from airflow_glue_runs._internal.polling.job_defaults import job_defaults_cache
from airflow_glue_runs._internal.polling.job_feed import subscribe_job_feed
from airflow_glue_runs._internal.polling.observations import PollFailed, PollSkipped, RunDenied, RunGone
from airflow_glue_runs._internal.polling.position_store import PositionStore
from airflow_glue_runs._internal.polling.run_ends import EndPosition, EndWatch, JobRunsSeen, utc_now
from airflow_glue_runs._internal.polling.shared_client import ClientKey, lease_client
from airflow_glue_runs._internal.run.secrets import TaskSecrets, scrub
from airflow_glue_runs._internal.run.summary import run_summary
from airflow_glue_runs._internal.start.options import check_botocore_config, check_seconds
from airflow_glue_runs._internal.start.request import check_name
from airflow_glue_runs.exceptions import GlueJobRunParameterError
from airflow_glue_runs.job_run import JobRun, JobRunState

__all__ = ["DEFAULT_WATCH_INTERVAL", "ENDED_STATES", "MIN_WATCH_INTERVAL", "GlueJobRunEndedTrigger"]

DEFAULT_WATCH_INTERVAL = 60.0
"""Seconds between two reads of the job's newest runs, unless the caller says otherwise."""
MIN_WATCH_INTERVAL = 5.0
"""The shortest poll interval accepted: a watcher is a standing cost on the account's Glue quota."""
ENDED_STATES = tuple(state.value for state in JobRunState if state.is_terminal)
"""The states a watcher may fire on: Glue's terminal run states."""
SAVE_DELAY = 5.0
"""Seconds between firing events and saving the position that counts them as fired. Airflow's triggerer hands
events to its supervisor about once a second and stores them there; saving later than that means a crash loses
no event (the run fires again after the restart instead)."""


def _check_states(states: object) -> tuple[str, ...]:
    allowed = ", ".join(ENDED_STATES)
    if isinstance(states, str) or not isinstance(states, Iterable):
        raise GlueJobRunParameterError("states", f"expected a list of run states among {allowed}, got {states!r}")
    values = tuple(dict.fromkeys(str(getattr(state, "value", state)) for state in states))
    wrong = [value for value in values if value not in ENDED_STATES]
    if wrong or not values:
        problem = f"{', '.join(map(repr, wrong))} not allowed" if wrong else "no state given"
        raise GlueJobRunParameterError("states", f"{problem}; allowed: the terminal run states {allowed}")
    return values


class GlueJobRunEndedTrigger(BaseEventTrigger):
    """Fire once for each run of a Glue job that newly ends in ``states``, for an asset watcher.

    The event's payload (the asset event's ``extra["payload"]``) is the run's summary without its arguments:
    ``job_name``, ``run_id``, ``state``, ``attempt``, ``started_on``, ``completed_on``, ``execution_time``,
    ``dpu_seconds``, ``worker_type``, ``number_of_workers``, ``max_capacity``, ``timeout``, ``error_message``,
    ``state_detail``, ``console_url``, and ``trigger_name`` (the Glue trigger that started the run, if any). Glue's
    texts are masked with the secret-looking values of the run's arguments and the job's DefaultArguments.

    A watcher that starts with no stored position starts from now: runs that ended before it do not fire. On
    Airflow 3.3 the position is kept in the watched assets' state store, so a triggerer restart neither misses nor
    repeats a run; below 3.3 runs that end while no triggerer runs are missed. Throttling, transient faults,
    AccessDenied and a missing job cost a poll (logged once per spell); the watcher keeps polling.

    :param job_name: the Glue job to watch.
    :param states: the terminal run states that fire (default SUCCEEDED); any of SUCCEEDED, FAILED, TIMEOUT,
        ERROR, STOPPED, EXPIRED.
    :param poll_interval: seconds between reads of the job's newest runs (at least 5; default 60). Watchers of
        one job share the reads, at the smallest interval among them.
    :param aws_conn_id: the Airflow ``aws`` connection (None: boto3's default credential chain).
    :param region_name: the AWS region, overriding the connection's.
    :param verify: TLS certificate verification: a bool or the path of a CA bundle; None uses the connection's.
    :param botocore_config: botocore ``Config`` keyword arguments (JSON-serializable), overriding the
        connection's ``config_kwargs``.
    """

    def __init__(
        self,
        *,
        job_name: str,
        states: Iterable[str | JobRunState] = ("SUCCEEDED",),
        poll_interval: float = DEFAULT_WATCH_INTERVAL,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.job_name = check_name("job_name", job_name)
        self.states = list(_check_states(states))
        interval = check_seconds("poll_interval", poll_interval, allow_zero=False)
        if interval is None or interval < MIN_WATCH_INTERVAL:
            raise GlueJobRunParameterError(
                "poll_interval", f"{poll_interval!r} seconds is too short; allowed: at least {MIN_WATCH_INTERVAL:g}"
            )
        self.poll_interval = interval
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.verify = verify
        config = check_botocore_config(botocore_config)
        self.botocore_config = dict(config) if config is not None else None
        self.position_store: PositionStore | None = None
        """The store of the running watcher (set by :meth:`run`; for tests)."""
        self._region: str | None = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the class path and the keyword arguments that rebuild this trigger (primitives only)."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_name": self.job_name,
                "states": list(self.states),
                "poll_interval": self.poll_interval,
                "aws_conn_id": self.aws_conn_id,
                "region_name": self.region_name,
                "verify": self.verify,
                "botocore_config": self.botocore_config,
            },
        )

    @property
    def client_key(self) -> ClientKey:
        """Return the key of the shared client (and job feed) this trigger uses."""
        return ClientKey.of_connection(self)

    @property
    def position_key(self) -> str:
        """Return the asset state store key of this watcher's position (its job, states and connection)."""
        states = "+".join(sorted(self.states))
        return f"airflow_glue_runs.ended/{self.aws_conn_id or ''}/{self.region_name or ''}/{self.job_name}/{states}"

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Watch the job through its shared feed and yield one event per run that newly ends in ``states``."""
        store = self.position_store = PositionStore(asset_state_stores(self), self.position_key, self.log)
        stored = await store.load()
        watch = EndWatch({JobRunState(state) for state in self.states}, stored or EndPosition(), utc_now())
        self._log_start(store, stored)
        loop = asyncio.get_running_loop()
        save_at: float | None = None
        troubles = 0
        async with subscribe_job_feed(self.client_key, self.job_name, watch, self.poll_interval) as subscription:
            while True:
                try:
                    timeout = None if save_at is None else max(0.0, save_at - loop.time())
                    item = await asyncio.wait_for(subscription.next(), timeout)
                except TimeoutError:
                    await store.save(watch.position)
                    save_at = None
                    continue
                if not isinstance(item, JobRunsSeen):
                    troubles = self._trouble(item, troubles)
                    continue
                if troubles:
                    self.log.info(
                        "Reading the runs of Glue job %s again after %d failed poll(s).", self.job_name, troubles
                    )
                    troubles = 0
                ended = watch.observe(item)
                for run in ended:
                    payload = await self._payload(run)
                    self.log.info("Glue job run %s of job %s ended %s.", run.id, self.job_name, payload["state"])
                    yield TriggerEvent(payload)  # type: ignore[no-untyped-call]
                if ended:
                    save_at = loop.time() + SAVE_DELAY
                elif save_at is None:
                    await store.save(watch.position)

    def _log_start(self, store: PositionStore, stored: EndPosition | None) -> None:
        states = ", ".join(self.states)
        if stored is not None:
            self.log.info(
                "Watching Glue job %s for runs ending %s from the stored position (runs started since %s, %d in "
                "progress), every %g s.",
                self.job_name,
                states,
                stored.since.isoformat() if stored.since else "-",
                len(stored.active),
                self.poll_interval,
            )
            return
        where = "kept in the asset state store" if store.available else "not kept (Airflow 3.3+ keeps it)"
        self.log.info(
            "Watching Glue job %s for runs ending %s from now, every %g s; the position is %s.",
            self.job_name,
            states,
            self.poll_interval,
            where,
        )

    def _trouble(self, item: Any, troubles: int) -> int:
        """Log a failed poll at the start of a spell (and every 10th); raise an unexpected error."""
        if isinstance(item, PollFailed):
            raise item.error.with_traceback(item.traceback)  # a bug or an unknown AWS error: the triggerer restarts us
        troubles += 1
        if troubles == 1 or troubles % 10 == 0:
            if isinstance(item, RunGone):
                what = "Glue says the job does not exist"
            elif isinstance(item, RunDenied):
                what = "access denied (the connection needs glue:GetJobRuns and glue:GetJobRun)"
            else:
                what = "Glue did not answer (throttling or a transient fault)"
            self.log.warning(
                "Could not read the runs of Glue job %s (%d poll(s) so far; still watching): %s (%s).",
                self.job_name,
                troubles,
                what,
                item.reason if isinstance(item, PollSkipped | RunGone | RunDenied) else type(item).__name__,
            )
        return troubles

    async def _payload(self, run: JobRun) -> dict[str, Any]:
        """Return the event payload of ``run``: its summary without arguments, Glue's texts masked."""
        secrets = TaskSecrets()
        secrets.see(run)
        if secrets.wants_defaults(run):
            defaults = await job_defaults_cache().get(self.client_key, self.job_name)
            secrets.job_defaults = defaults.arguments or {}
        summary = run_summary(
            dataclasses.replace(run, arguments=None),
            job_name=self.job_name,
            console_url=await self._console_url(run.id),
            redact=secrets.redactor(),
        )
        del summary["arguments"]
        summary["trigger_name"] = run.trigger_name
        return summary

    async def _console_url(self, run_id: str) -> str | None:
        if self._region is None:
            try:
                async with lease_client(self.client_key) as shared:
                    self._region = shared.hook.region_name or ""
            except Exception as error:
                scrub(error, lambda text: "")
                self._region = ""
        return console_url(self._region, self.job_name, run_id) if self._region else None
