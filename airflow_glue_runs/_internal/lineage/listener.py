"""What the OpenLineage listener calls on a task that started or waited on a Glue run (the operator, the sensor)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_glue_runs._internal.lineage.openlineage import LineageSource

__all__ = ["GlueRunLineage"]


class GlueRunLineage:
    """The OpenLineage listener's two calls on a task that started or waited on a Glue run (operator, sensor).

    Mixed into the task class, which says what it knows of its run in :meth:`_lineage`. The facets module, which
    needs OpenLineage, is imported only when the listener calls.
    """

    def _lineage(self) -> LineageSource:
        raise NotImplementedError

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """Return the task's ``OperatorLineage``: the Glue run's id and summary."""
        from airflow_glue_runs._internal.lineage.facets import operator_lineage

        return operator_lineage(self._lineage(), failed=False)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        """Return the task's ``OperatorLineage`` on failure: the run's id and summary, and Glue's ErrorMessage."""
        from airflow_glue_runs._internal.lineage.facets import operator_lineage

        return operator_lineage(self._lineage(), failed=True)
