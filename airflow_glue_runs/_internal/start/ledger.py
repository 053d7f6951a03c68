"""Who a try is and what it recorded: the task instance generation's identity and its run record.

**Identity.** A task instance (dag id, dag run id and its ``run_after``, task id, map index) runs in
*generations*: a Clear starts a new one, a retry stays in the current one. Airflow tells them apart by
``ti.max_tries``: it is set once when the task instance is created and raised (to ``try_number + retries``)
by every Clear, including the Clear of a running task, while retries and deferrals leave it alone. The
generation is that ``max_tries``. A SHA-256 token of the identity and the generation goes to Glue as the job
argument ``--airflow-glue-runs-marker`` (a hash: no secret and nothing readable in it).

**Records.** On Airflow 3.3+ the task state store (kept across retries, not emptied by a Clear) holds one record:
written as *pending* (token, generation, no run id) before StartJobRun, and with the run id right after it.
On earlier Airflow 3 versions there is no store (:class:`RunLedger` keeps nothing); :mod:`.reattach` then finds
the run by the token.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

__all__ = ["MARKER_ARGUMENT", "STATE_KEY", "RunIdentity", "RunLedger", "RunRecord"]

MARKER_ARGUMENT = "--airflow-glue-runs-marker"
"""The job argument that marks a run with the token of the task instance generation that started it."""
STATE_KEY = "airflow_glue_runs.job_run"
"""The task state store key of the run record (Airflow 3.3+)."""


@dataclasses.dataclass(frozen=True)
class RunIdentity:
    """Who starts a run: one generation of one task instance."""

    dag_id: str
    dag_run_id: str
    run_after: str
    task_id: str
    map_index: int
    generation: int
    try_number: int

    @property
    def token(self) -> str:
        """The marker value sent to Glue: a hash of everything but the try number."""
        parts = (self.dag_id, self.dag_run_id, self.run_after, self.task_id, str(self.map_index), str(self.generation))
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> RunIdentity:
        """Read the identity of the running task instance from its Airflow context."""
        ti = context["ti"]
        dag_run = context.get("dag_run")
        run_after = getattr(dag_run, "run_after", None)
        map_index = getattr(ti, "map_index", None)
        return cls(
            dag_id=str(ti.dag_id),
            dag_run_id=str(ti.run_id),
            # A DAG run deleted and created again under the same run id is another run: run_after tells them apart.
            run_after=run_after.isoformat() if isinstance(run_after, datetime) else str(run_after or ""),
            task_id=str(ti.task_id),
            map_index=int(map_index) if map_index is not None else -1,
            generation=int(getattr(ti, "max_tries", 0) or 0),
            try_number=int(getattr(ti, "try_number", 1) or 1),
        )


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """What the task state store remembers about the run of a generation."""

    token: str
    generation: int
    job_name: str
    run_id: str | None
    try_number: int

    def to_json(self) -> dict[str, Any]:
        """Return the record as JSON data."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: object) -> RunRecord | None:
        """Rebuild a record; ``None`` for anything that is not one (the store is shared with user code)."""
        if not isinstance(data, dict):
            return None
        try:
            run_id = data["run_id"]
            return cls(
                token=str(data["token"]),
                generation=int(data["generation"]),
                job_name=str(data["job_name"]),
                run_id=str(run_id) if run_id else None,
                try_number=int(data["try_number"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


class _Store(Protocol):
    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any) -> None: ...


class RunLedger:
    """The run record in the task state store, or nothing on Airflow versions without one.

    :param store: ``context["task_state_store"]``, or ``None``.
    """

    def __init__(self, store: _Store | None) -> None:
        self._store = store

    @classmethod
    def from_context(cls, context: Mapping[str, Any]) -> RunLedger:
        """Use the task state store of ``context`` when this Airflow has one (3.3+)."""
        return cls(context.get("task_state_store"))

    @property
    def available(self) -> bool:
        """Whether records can be kept (Airflow 3.3+)."""
        return self._store is not None

    def load(self) -> RunRecord | None:
        """Return the stored record, if any."""
        if self._store is None:
            return None
        return RunRecord.from_json(self._store.get(STATE_KEY))

    def record_pending(self, identity: RunIdentity, job_name: str) -> None:
        """Remember, before StartJobRun, that this generation is about to start a run marked with its token."""
        self._write(identity, job_name, None)

    def record_started(self, identity: RunIdentity, job_name: str, run_id: str) -> None:
        """Remember the run id of this generation's run."""
        self._write(identity, job_name, run_id)

    def _write(self, identity: RunIdentity, job_name: str, run_id: str | None) -> None:
        if self._store is None:
            return
        record = RunRecord(
            token=identity.token,
            generation=identity.generation,
            job_name=job_name,
            run_id=run_id,
            try_number=identity.try_number,
        )
        self._store.set(STATE_KEY, record.to_json())
