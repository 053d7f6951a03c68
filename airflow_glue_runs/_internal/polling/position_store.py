"""Where a Glue-run asset watcher keeps its position: the asset state store of Airflow 3.3, when there is one.

Airflow 3.3's triggerer gives an asset watcher's trigger one store accessor per watched asset
(:func:`~airflow_glue_runs._internal.compat.asset_state_stores`); earlier minors give none, and the watcher then
starts afresh at every start. The position is written to every watched asset under one key and read back from all
of them, taking the one that went furthest (they differ only when an asset joined the watcher later).

The store is a convenience, never a reason to stop watching: a failed read starts afresh, a failed write is
logged (once per spell) and tried again at the next change.
"""

from __future__ import annotations

from typing import Any

from airflow_glue_runs._internal.polling.run_ends import EndPosition
from airflow_glue_runs._internal.run.secrets import describe_error

__all__ = ["PositionStore"]


class PositionStore:
    """Load and save one watcher's :class:`EndPosition` under ``key`` in its assets' state stores.

    :param accessors: the per-asset state store accessors (``aget``/``aset``); empty below Airflow 3.3.
    :param key: the state key (one per job, states and connection).
    :param log: the trigger's logger.
    """

    def __init__(self, accessors: list[Any], key: str, log: Any) -> None:
        self.accessors = accessors
        self.key = key
        self.log = log
        self.saves = 0
        self._saved: dict[str, Any] | None = None
        self._failing = False

    @property
    def available(self) -> bool:
        """Whether there is a store (Airflow 3.3+, run by a triggerer as an asset watcher)."""
        return bool(self.accessors)

    async def load(self) -> EndPosition | None:
        """Return the stored position that went furthest, or None (no store, nothing stored, or a failed read)."""
        found: list[EndPosition] = []
        for accessor in self.accessors:
            try:
                stored = await accessor.aget(self.key)
            except Exception as error:
                self.log.warning(
                    "Could not read the watcher's position from the asset state store (%s); starting from now.",
                    describe_error(error),
                )
                return None
            position = EndPosition.from_json(stored)
            if position is not None and position.since is not None:
                found.append(position)
        if not found:
            return None
        best = max(found, key=lambda position: position.since)  # type: ignore[arg-type,return-value]
        self._saved = best.to_json()
        return best

    async def save(self, position: EndPosition) -> None:
        """Write ``position`` to every watched asset's store if it changed since the last write."""
        value = position.to_json()
        if not self.accessors or value == self._saved:
            return
        try:
            for accessor in self.accessors:
                await accessor.aset(self.key, value)
        except Exception as error:
            if not self._failing:
                self.log.warning(
                    "Could not save the watcher's position to the asset state store (%s); a triggerer restart now "
                    "may fire runs again. Trying again at the next change.",
                    describe_error(error),
                )
            self._failing = True
            return
        if self._failing:
            self.log.info("Saved the watcher's position to the asset state store again.")
        self._failing = False
        self._saved = value
        self.saves += 1
