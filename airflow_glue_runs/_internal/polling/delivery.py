"""Handing what a poll saw to the watchers, at a pace the triggerer's event loop can take.

Each delivery wakes a trigger, and a trigger whose run ended resolves in the loop step that follows (its verdict,
its event, its log lines). The pollers of a loop poll on the same beat, so their pages come back together: were
each to wake a batch of triggers per step, ten jobs would resolve ten batches in one step. :func:`deliver_in_turns`
lets one batch of :data:`DELIVERY_BATCH` runs, from whichever poller, be delivered per turn of a loop-wide lock,
and the batch's triggers run before the next batch is handed out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TypeVar

from airflow_glue_runs._internal.polling.per_loop import PerLoop

__all__ = ["DELIVERY_BATCH", "deliver_in_turns"]

DELIVERY_BATCH = 10
"""Runs delivered per turn: their triggers run (and resolve, for runs that ended) before the next turn."""

T = TypeVar("T")

_turns: PerLoop[asyncio.Lock] = PerLoop(asyncio.Lock)


async def deliver_in_turns(items: Sequence[T], deliver: Callable[[T], None]) -> None:
    """Call ``deliver`` on every item, :data:`DELIVERY_BATCH` per turn of the running loop's delivery lock.

    The lock is held until the loop has run the batch's triggers, so concurrent polls take turns batch by batch.
    """
    turns = _turns.get()
    for start in range(0, len(items), DELIVERY_BATCH):
        async with turns:
            for item in items[start : start + DELIVERY_BATCH]:
                deliver(item)
            await asyncio.sleep(0)  # the batch's triggers run in the next step of the loop, before another batch
