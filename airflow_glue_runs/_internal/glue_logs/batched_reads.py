"""The reads of one reader cycle: FilterLogEvents batched over runs, paged to the window's end, rate-limited.

- Driver streams of all given runs in one log group are read together: FilterLogEvents with ``logStreamNames``
  (at most :data:`MAX_STREAMS_PER_CALL`), ``startTime`` the oldest position among them (inclusive; the edge is
  de-duplicated by event id), ``endTime`` the window's end, following ``nextToken`` to the end of that window.
  N runs in G groups cost ``G x ceil(N/100)`` calls plus pagination.
- Executor streams (``forward_logs="all"``) are read by ``logStreamNamePrefix``, run by run.
- A token bucket caps the calls. Throttling backs the whole reader off: the rest of the cycle and the next
  cycles (1, 2, 4, up to 8) are skipped (:attr:`BatchedReads.skip`).

Events are routed to runs by their ``logStreamName``; each run's :meth:`RunLogs.take` then keeps only the
streams that belong to it, whatever the server answered (an answer may hold streams nobody asked for).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from airflow_glue_runs._internal.glue_logs.client import TokenBucket
from airflow_glue_runs._internal.glue_logs.follower import LogFollower
from airflow_glue_runs._internal.glue_logs.forwarding import filter_request, is_backoff_error

__all__ = ["MAX_STREAMS_PER_CALL", "PREFIX_MODE_CYCLES", "BatchedReads", "CycleStats"]

log = logging.getLogger(__name__)

MAX_STREAMS_PER_CALL = 100
"""FilterLogEvents takes at most 100 ``logStreamNames``."""
PREFIX_MODE_CYCLES = 10
"""Cycles a group is read by stream name prefix after AWS refused a read by stream names."""
_MAX_BACKOFF_CYCLES = 8


@dataclasses.dataclass
class CycleStats:
    """What one reader cycle did (for tests and benchmarks)."""

    calls: int = 0
    driver_calls: int = 0
    executor_calls: int = 0
    flush_calls: int = 0
    skipped: bool = False
    foreign_events: int = 0
    """Events of a batched driver read from streams no follower of the read asked for (dropped)."""


class BatchedReads:
    """Make the FilterLogEvents reads of a reader's cycles through one client, and keep their back-off state.

    :param bucket: the rate limit of the calls.
    :param region_name: the region named in an AccessDenied warning (None: the client's).
    """

    def __init__(self, bucket: TokenBucket, region_name: str | None) -> None:
        self.bucket = bucket
        self.region_name = region_name
        self.client: Any = None
        self.cycle = 0
        """The number of the current cycle (set by the reader)."""
        self.skip = 0
        """Cycles still to skip because CloudWatch throttled the reader."""
        self._backoff = 0
        self._prefix_groups: dict[str, int] = {}
        """Groups read by stream name prefix until this cycle, because a read by names was refused."""

    async def read_drivers(self, followers: list[LogFollower], end: int | None, stats: CycleStats, kind: str) -> bool:
        """Read the driver streams of ``followers``, 100 to a call per group; return False when throttled."""
        by_group: dict[str, dict[str, LogFollower]] = {}
        for follower in followers:
            for group, stream in follower.logs.driver_keys():
                by_group.setdefault(group, {})[stream] = follower
        for group in sorted(by_group):
            streams = by_group[group]
            names = sorted(streams)
            for i in range(0, len(names), MAX_STREAMS_PER_CALL):
                by_prefix = self._prefix_groups.get(group, 0) >= self.cycle
                chunk = names[i:] if by_prefix else names[i : i + MAX_STREAMS_PER_CALL]
                events = await self._read_streams(group, chunk, streams, end, stats, kind, by_prefix=by_prefix)
                if events is None and not by_prefix and self._prefix_groups.get(group, 0) >= self.cycle:
                    by_prefix, chunk = True, names[i:]  # the names were refused: one prefix read for the rest
                    events = await self._read_streams(group, chunk, streams, end, stats, kind, by_prefix=True)
                if events is None:
                    if self.skip:
                        return False
                    continue
                per_stream: dict[str, list[dict[str, Any]]] = {}
                for event in events:
                    per_stream.setdefault(event.get("logStreamName", ""), []).append(event)
                for name in chunk:
                    streams[name].lines += streams[name].logs.take(group, per_stream.pop(name, ()))
                if unclaimed := sum(map(len, per_stream.values())):
                    _count_unclaimed(stats, group, unclaimed, expected=by_prefix)
                if by_prefix:
                    break
        return True

    async def _read_streams(
        self,
        group: str,
        names: list[str],
        streams: dict[str, LogFollower],
        end: int | None,
        stats: CycleStats,
        kind: str,
        *,
        by_prefix: bool,
    ) -> list[dict[str, Any]] | None:
        """Read some driver streams of one group, by their names or by their common prefix (other runs' skipped)."""
        start = min(streams[name].logs.window_start(group, name) for name in names)
        if by_prefix:
            request = filter_request(group, start, end, prefix=_common_prefix(names))
        else:
            request = filter_request(group, start, end, names=names)
        return await self._read(request, [streams[name] for name in names], group, stats, kind, by_names=not by_prefix)

    async def read_executors(
        self, followers: list[LogFollower], end: int | None, stats: CycleStats, *, flush: bool = False
    ) -> None:
        """Read the executor streams of ``followers`` by prefix, run by run; stop when throttled."""
        for follower in followers:
            assert follower.logs.location is not None
            for group, prefix in follower.logs.location.executors:
                if not follower.logs.ready:
                    break
                request = filter_request(group, follower.logs.window_start(group, "", prefix), end, prefix=prefix)
                events = await self._read(
                    request, [follower], group, stats, "flush_calls" if flush else "executor_calls"
                )
                if events is None and self.skip:
                    return
                if events is not None:
                    follower.lines += follower.logs.take(group, events, prefix_read=True)

    async def _read(
        self,
        request: dict[str, Any],
        followers: list[LogFollower],
        group: str,
        stats: CycleStats,
        kind: str,
        *,
        by_names: bool = False,
    ) -> list[dict[str, Any]] | None:
        """Read one window to its end (all pages); on an error, judge it for each follower and return None.

        AWS is reported to refuse ``logStreamNames`` naming a stream that does not exist yet (moto skips it):
        such a refusal of a read by names switches the group to prefix reads for :data:`PREFIX_MODE_CYCLES`.
        """
        events: list[dict[str, Any]] = []
        token: str | None = None
        try:
            while True:
                await self.bucket.take()
                stats.calls += 1
                setattr(stats, kind, getattr(stats, kind) + 1)
                page = await self.client.filter_log_events(**request, **({"nextToken": token} if token else {}))
                events += page.get("events", ())
                token = page.get("nextToken")
                if not token:
                    break
        except Exception as error:
            if by_names and len(request.get("logStreamNames", ())) > 1 and _not_found(error):
                self._prefix_groups[group] = self.cycle + PREFIX_MODE_CYCLES
                return None
            region = self.region_name or getattr(self.client.meta, "region_name", None)
            for follower in followers:
                if (verdict := follower.logs.failed(error, group, region)) is not None:
                    follower.notes.append(verdict)
                follower.logs.skip = 0  # the reader backs off as a whole
            if is_backoff_error(error):
                self._backoff = min(_MAX_BACKOFF_CYCLES, max(1, self._backoff * 2))
                self.skip = self._backoff
            return None
        self._backoff = 0
        for follower in followers:
            follower.logs.succeeded()
        return events


def _count_unclaimed(stats: CycleStats, group: str, count: int, *, expected: bool) -> None:
    """Count the events of a batched read that no follower asked for (dropped), in the stats and a DEBUG line."""
    stats.foreign_events += count
    why = "read by a common prefix" if expected else "the Logs endpoint ignored the read's logStreamNames"
    log.debug("Dropped %d CloudWatch event(s) of %s from streams no follower asked for (%s).", count, group, why)


def _common_prefix(names: list[str]) -> str:
    first, last = min(names), max(names)
    size = next((i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), min(len(first), len(last)))
    return first[:size]


def _not_found(error: BaseException) -> bool:
    response = getattr(error, "response", None)
    return isinstance(response, dict) and response.get("Error", {}).get("Code") == "ResourceNotFoundException"
