"""What the Amazon-shaped classes say once per task about where this provider deliberately behaves differently."""

from __future__ import annotations

__all__ = ["GUIDE", "OPERATOR_NOTICE", "SENSOR_NOTICE"]

GUIDE = "the docs' 'Migrating from the Amazon provider' page (docs/migrating.md)"

_COMMON = (
    "ERROR and EXPIRED fail the task (the Amazon provider can keep polling them); "
    "errors reading the run's CloudWatch logs never fail the task"
)
OPERATOR_NOTICE = (
    "airflow_glue_runs.amazon.GlueJobOperator runs on airflow-glue-runs, which differs from the Amazon provider "
    f"here: {_COMMON}; a deferred wait has no 75-attempt cap (it lasts until the run ends); a retry reattaches to the "
    f"run its earlier try started instead of starting a duplicate. See {GUIDE}."
)
SENSOR_NOTICE = (
    "airflow_glue_runs.amazon.GlueJobSensor runs on airflow-glue-runs, which differs from the Amazon provider "
    f"here: {_COMMON}; a deferred wait has no attempt cap (max_retries); the sensor returns the run id. "
    f"See {GUIDE}."
)
