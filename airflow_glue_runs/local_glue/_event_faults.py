"""The switches that make the local Glue's EventBridge events unreliable on purpose, as AWS may. No moto here.

Glue emits its events best effort (one may be lost) and EventBridge delivers them at least once, in no set order,
sometimes late. Tests of a consumer prove it treats events as hints by turning these switches; each call of
``set_event_faults`` replaces every switch.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Mapping
from typing import Any

__all__ = ["EventFaults"]


def _count(parameter: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{parameter} must be a non-negative integer (a number of events); got {value!r}")
    return value


def _rate(parameter: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{parameter} must be a fraction from 0.0 to 1.0; got {value!r}")
    return float(value)


def _seconds(parameter: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{parameter} must be a non-negative, finite number of seconds; got {value!r}")
    return float(value)


@dataclasses.dataclass
class EventFaults:
    """What happens to the next events: dropped, duplicated, delayed, shuffled; all off by default.

    :param drop_next: drop the next N events.
    :param drop_rate: then drop each event with this probability (1.0: every event).
    :param duplicate_next: deliver the next N events twice (after the drops).
    :param duplicate_rate: then deliver each event twice with this probability.
    :param delay_seconds: deliver every event this long after the run's end (the local Glue's clock).
    :param jitter_seconds: add a random delay from 0 up to this to each copy, so events of runs that end close
        together may arrive out of order.
    :param job_name: apply the switches to this job's events only (None: every job's).
    :param seed: the seed of the random draws, so a test sees the same faults each time.
    """

    drop_next: int = 0
    drop_rate: float = 0.0
    duplicate_next: int = 0
    duplicate_rate: float = 0.0
    delay_seconds: float = 0.0
    jitter_seconds: float = 0.0
    job_name: str | None = None
    seed: int = 0
    rng: random.Random = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, Any]) -> EventFaults:
        """Check the switches of a ``set_event_faults`` call; raise ValueError naming a bad one.

        :param arguments: the call's keyword arguments.
        """
        known = [field.name for field in dataclasses.fields(cls) if field.init]
        unknown = sorted(set(arguments) - set(known))
        if unknown:
            raise ValueError(f"set_event_faults takes {', '.join(known)}; got {', '.join(unknown)}")
        job_name, seed = arguments.get("job_name"), arguments.get("seed", 0)
        if job_name is not None and (not isinstance(job_name, str) or not job_name):
            raise ValueError(f"job_name must be a job's name or None (every job); got {job_name!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"seed must be an integer; got {seed!r}")
        return cls(
            drop_next=_count("drop_next", arguments.get("drop_next", 0)),
            drop_rate=_rate("drop_rate", arguments.get("drop_rate", 0.0)),
            duplicate_next=_count("duplicate_next", arguments.get("duplicate_next", 0)),
            duplicate_rate=_rate("duplicate_rate", arguments.get("duplicate_rate", 0.0)),
            delay_seconds=_seconds("delay_seconds", arguments.get("delay_seconds", 0.0)),
            jitter_seconds=_seconds("jitter_seconds", arguments.get("jitter_seconds", 0.0)),
            job_name=job_name,
            seed=seed,
        )

    def delays(self, job_name: str) -> list[float]:
        """Decide the fate of one event of ``job_name``: the delay of each copy to deliver (none: dropped)."""
        if self.job_name is not None and job_name != self.job_name:
            return [0.0]
        if self.drop_next:
            self.drop_next -= 1
            return []
        if self.drop_rate and self.rng.random() < self.drop_rate:
            return []
        copies = 1
        if self.duplicate_next:
            self.duplicate_next -= 1
            copies = 2
        elif self.duplicate_rate and self.rng.random() < self.duplicate_rate:
            copies = 2
        return [self.delay_seconds + self.rng.uniform(0.0, self.jitter_seconds) for _ in range(copies)]
