"""The jobs' DefaultArguments in the triggerer: one GetJob per (shared client, job) per event loop, shared by triggers.

A trigger needs a job's defaults only to mask their secret values in Glue's text (the run's ``ErrorMessage`` or
``StateDetail``: :mod:`airflow_glue_runs._internal.run.secrets`), so it asks for them lazily, when a read of its run
carries such text. The first trigger to ask starts the read, in a task of its own on the shared client; every
trigger of that job on that client then waits on the same read, and later ones get the answer at once.

A failed read is remembered as failed for the life of the loop (no retry storm across a thousand triggers) and logged
here once, by its AWS code only: this log line is shared by every task of the job, and an AWS error text could
quote an argument. Each trigger reports the error in its own log, masked with its own secrets. No trigger waits
longer than :data:`DEFAULTS_WAIT` for the read: it then masks with what it knows, and the read goes on for the others.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import logging
from collections.abc import Mapping

from airflow_glue_runs._internal.polling.per_loop import PerLoop
from airflow_glue_runs._internal.polling.shared_client import ClientKey, lease_client
from airflow_glue_runs._internal.run.secrets import error_code

__all__ = ["DEFAULTS_WAIT", "JobDefaults", "JobDefaultsCache", "job_defaults_cache"]

log = logging.getLogger(__name__)

DEFAULTS_WAIT = 10.0
"""Seconds a trigger waits for a job's DefaultArguments before masking without them."""


@dataclasses.dataclass(frozen=True)
class JobDefaults:
    """The outcome of reading a job's DefaultArguments: the arguments, or the error (raw: mask it before logging)."""

    arguments: Mapping[str, str] | None = None
    error: BaseException | None = None


class JobDefaultsCache:
    """The DefaultArguments of the jobs of one event loop, read once per (client key, job) and shared."""

    def __init__(self) -> None:
        self._reads: dict[tuple[ClientKey, str], asyncio.Task[JobDefaults]] = {}
        self.calls = 0
        """GetJob calls made (for tests and benchmarks)."""

    async def get(self, key: ClientKey, job_name: str, *, wait: float = DEFAULTS_WAIT) -> JobDefaults:
        """Return the job's DefaultArguments, reading them on first use; never raises, waits at most ``wait`` s."""
        read = self._reads.get((key, job_name))
        if read is None:
            read = self._reads[(key, job_name)] = asyncio.get_running_loop().create_task(
                self._read(key, job_name), name=f"glue-job-defaults-{job_name}", context=contextvars.Context()
            )
        try:
            return await asyncio.wait_for(asyncio.shield(read), wait)
        except TimeoutError:
            return JobDefaults(error=TimeoutError(f"GetJob did not answer within {wait:g} s"))

    async def _read(self, key: ClientKey, job_name: str) -> JobDefaults:
        self.calls += 1
        try:
            async with lease_client(key) as shared:
                arguments = await shared.hook.aget_job_default_arguments(job_name, client=shared.client)
        except Exception as error:
            log.warning(
                "Could not read the DefaultArguments of Glue job %s (%s); its triggers mask Glue's texts with the "
                "secret values they know without them.",
                job_name,
                error_code(error),
            )
            return JobDefaults(error=error)
        return JobDefaults(arguments=arguments)


_caches: PerLoop[JobDefaultsCache] = PerLoop(JobDefaultsCache)


def job_defaults_cache() -> JobDefaultsCache:
    """Return the job-defaults cache of the running event loop."""
    return _caches.get()
