"""Which runs of a Glue job newly ended: the position of a Glue-run asset watcher, across polls and restarts.

A watcher fires once for each run it saw end, in the states it was asked for. It decides from transitions it
observes, not from timestamps alone: a run it knew as in progress (:attr:`EndPosition.active`) or a run it never saw
before (started at or after :attr:`EndPosition.since`) that is now over has *newly* ended. Glue's ``CompletedOn`` is
only used for a fresh watcher's first look, where a run that ended before the watcher started does not fire.

The position, all JSON, is what an Airflow 3.3 asset watcher keeps in its asset's state store:

- ``since``: a ``StartedOn`` horizon, :data:`START_MARGIN` behind the newest run seen. Every run that started
  before it is either judged already or listed in ``active``; runs that started at or after it are on the newest
  pages of GetJobRuns (newest first), so a poll reads pages only until it crosses ``since``.
- ``active``: the runs seen in progress (STARTING, RUNNING, STOPPING, WAITING), whatever their age.
- ``recent``: the runs judged already that started at or after ``since`` (run id -> StartedOn, epoch seconds), so a
  run the margin keeps in view is not judged twice.

No I/O here: the feed (:mod:`~airflow_glue_runs._internal.polling.job_feed`) reads, the trigger stores and fires.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow_glue_runs.job_run import JobRun, JobRunState

__all__ = ["FRESH_PAGES", "START_MARGIN", "EndPosition", "EndWatch", "JobRunsSeen"]

START_MARGIN = timedelta(minutes=2)
"""How far ``since`` stays behind the newest StartedOn seen: a run that shows up late in GetJobRuns (or started in
the same instant as one already listed) is still taken as new."""
FRESH_PAGES = 5
"""How many pages a fresh watcher reads, at most, to adopt the runs in progress (stops at a page without one)."""
POSITION_VERSION = 1


@dataclasses.dataclass(frozen=True)
class JobRunsSeen:
    """What one poll of a job saw: the runs read (pages and single reads) and the runs Glue says are gone."""

    runs: Mapping[str, JobRun]
    gone: frozenset[str] = frozenset()
    capped: bool = False
    """The pages stopped at the feed's bound while more were wanted: older runs may not have been seen."""


@dataclasses.dataclass
class EndPosition:
    """Where a watcher stands (see the module docstring); ``since`` is None until its first poll."""

    since: datetime | None = None
    active: set[str] = dataclasses.field(default_factory=set)
    recent: dict[str, float] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return the position as JSON data (what the asset state store keeps)."""
        return {
            "version": POSITION_VERSION,
            "since": self.since.isoformat() if self.since is not None else None,
            "active": sorted(self.active),
            "recent": dict(sorted(self.recent.items())),
        }

    @classmethod
    def from_json(cls, data: object) -> EndPosition | None:
        """Return the position stored as ``data``, or None if it is not one this version wrote."""
        if not isinstance(data, Mapping) or data.get("version") != POSITION_VERSION:
            return None
        try:
            since = datetime.fromisoformat(data["since"]) if data.get("since") else None
            active = {str(run_id) for run_id in data.get("active") or ()}
            recent = {str(run_id): float(at) for run_id, at in (data.get("recent") or {}).items()}
        except (TypeError, ValueError, AttributeError):
            return None
        return cls(since=since, active=active, recent=recent)


class EndWatch:
    """Judge each poll of a job for one watcher: which runs newly ended in ``states``, and how deep to read.

    :param states: the terminal states that fire.
    :param position: where the watcher stands (a fresh one has no ``since``).
    :param started_at: when the watcher started; on a fresh position, runs that ended before it do not fire.
    """

    def __init__(self, states: Collection[JobRunState], position: EndPosition, started_at: datetime) -> None:
        self.states = frozenset(states)
        self.position = position
        self.started_at = started_at

    @property
    def fresh(self) -> bool:
        """Whether the watcher has not judged a poll yet (no stored position, no poll so far)."""
        return self.position.since is None

    def wants_more(self, page: Sequence[JobRun], found: Mapping[str, JobRun], pages: int) -> bool:
        """Whether another GetJobRuns page is needed, after ``pages`` pages that showed ``found`` (``page`` last).

        The rule assumes newest-first pages (AWS, the local Glue); a page in oldest-first order (plain moto) makes
        every page needed, up to the feed's bound.
        """
        if _oldest_first(page):
            return True
        if self.fresh:
            return pages < FRESH_PAGES and any(not run.is_terminal for run in page)
        since = self.position.since
        crossed = any(run.started_on is not None and run.started_on < since for run in page)  # type: ignore[operator]
        return not crossed or any(run_id not in found for run_id in self.position.active)

    def missing(self, found: Mapping[str, JobRun]) -> set[str]:
        """Return the runs in progress that the pages did not show (to read one by one)."""
        return {run_id for run_id in self.position.active if run_id not in found}

    def observe(self, seen: JobRunsSeen) -> list[JobRun]:
        """Update the position with a poll; return the runs that newly ended in the chosen states, oldest end first."""
        position = self.position
        fresh = self.fresh
        since = position.since
        ended: list[JobRun] = []
        for run in seen.runs.values():
            if run.id in position.recent:
                continue
            known = run.id in position.active
            new = since is None or run.started_on is None or run.started_on >= since
            if not run.is_terminal:
                position.active.add(run.id)  # adopted, whatever its age: its end is news
                continue
            if not (known or new):
                continue  # ended long ago, judged already
            position.active.discard(run.id)
            if run.started_on is not None:
                position.recent[run.id] = run.started_on.timestamp()
            if run.state in self.states and (known or not fresh or _ended_since(run, self.started_at)):
                ended.append(run)
        position.active -= seen.gone
        self._advance(seen.runs.values())
        ended.sort(key=lambda run: (run.completed_on or self.started_at, run.id))
        return ended

    def _advance(self, runs: Iterable[JobRun]) -> None:
        """Move ``since`` to :data:`START_MARGIN` behind the newest run seen, and forget what fell behind it."""
        position = self.position
        newest = max((run.started_on for run in runs if run.started_on is not None), default=None)
        candidates = [at for at in (position.since, (newest or self.started_at) - START_MARGIN) if at is not None]
        position.since = max(candidates)
        horizon = position.since.timestamp()
        position.recent = {run_id: at for run_id, at in position.recent.items() if at >= horizon}


def _ended_since(run: JobRun, moment: datetime) -> bool:
    return run.completed_on is not None and run.completed_on >= moment


def _oldest_first(page: Sequence[JobRun]) -> bool:
    """Whether a page lists its runs oldest first (first StartedOn before the last)."""
    times = [run.started_on for run in page if run.started_on is not None]
    return len(times) >= 2 and times[0] < times[-1]


def utc_now() -> datetime:
    """Return the current time, timezone-aware (UTC)."""
    return datetime.now(UTC)
