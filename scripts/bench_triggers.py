"""The triggers ``make bench`` compares: this project's, the Amazon provider's, and a do-nothing floor.

The floor (:class:`FloorTrigger`) is an Airflow trigger whose ``run()`` only sleeps until its run's scripted end and
then fires: what any trigger costs (an asyncio task, Airflow's ``BaseTrigger`` bookkeeping, the process heap) before
it reads anything. The benchmark reports each implementation's CPU above it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent
from bench_events import EVENT_IMPLEMENTATIONS

FLOOR = "floor"
IMPLEMENTATIONS = (
    FLOOR,
    "airflow-glue-runs",
    "amazon",
    "airflow-glue-runs+logs",
    "amazon+verbose",
    *EVENT_IMPLEMENTATIONS,
)
"""The ``+logs`` rows forward the runs' CloudWatch lines: ``forward_logs=True`` beside the Amazon provider's
``verbose=True``; the ``+events`` rows run this project's trigger in a process configured for Glue's events
(:mod:`bench_events`). Not run by default (``--impl`` names them; ``--events`` runs the events comparison)."""
DEFAULT_IMPLEMENTATIONS = IMPLEMENTATIONS[:3]


class FloorTrigger(BaseTrigger):
    """Do nothing until ``deadline`` (epoch seconds), then fire one event: the floor of a trigger's cost.

    :param run_id: the run it stands for (echoed in the event).
    :param deadline: when to fire (the run's scripted end).
    """

    def __init__(self, *, run_id: str, deadline: float) -> None:
        super().__init__()
        self.run_id = run_id
        self.deadline = deadline

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the class path and keyword arguments, as every trigger must."""
        return f"{type(self).__module__}.{type(self).__qualname__}", {"run_id": self.run_id, "deadline": self.deadline}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Sleep until the deadline, then yield one event."""
        await asyncio.sleep(max(0.0, self.deadline - time.time()))
        yield TriggerEvent({"run_id": self.run_id, "status": "done"})


def make_trigger(impl: str, job: str, run_id: str, poll: float, deadline: float) -> Any:
    """Build one trigger of the given implementation, as the operator would when deferring."""
    if impl == FLOOR:
        return FloorTrigger(run_id=run_id, deadline=deadline)
    if impl.startswith("amazon"):
        from airflow.providers.amazon.aws.triggers.glue import GlueJobCompleteTrigger

        return GlueJobCompleteTrigger(
            job_name=job,
            run_id=run_id,
            verbose=impl.endswith("+verbose"),
            waiter_delay=int(poll),
            waiter_max_attempts=100_000,
            aws_conn_id="aws_default",
        )
    from airflow_glue_runs.triggers import GlueJobRunTrigger

    forward_logs = impl.endswith("+logs")
    return GlueJobRunTrigger(
        job_name=job, run_id=run_id, poll_interval=poll, aws_conn_id="aws_default", forward_logs=forward_logs
    )
