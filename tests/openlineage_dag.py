"""Run the OpenLineage test DAG with ``dag.test()`` in a fresh interpreter (used by test_openlineage_dag.py).

The OpenLineage provider reads its settings once per process (its plugin registers the listener at import, and
``is_disabled()`` is cached), so the DAG runs in its own process with the environment the test prepared: the
file transport, the local Glue connection and the session's Airflow home. ``--block-openlineage`` makes the
OpenLineage provider unimportable first, as on an installation without it.

Usage: ``python tests/openlineage_dag.py DAG_ID JOB,JOB... [--block-openlineage]``; prints the DAG run's id and
state on a line that starts with :data:`RESULT_LINE`.
"""

from __future__ import annotations

import importlib.abc
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

RESULT_LINE = "DAG RUN: "
"""What the line with the DAG run's id and state (JSON) starts with (the rest of stdout is Airflow's log)."""
JOBS = ("worker_ok", "deferred_ok", "worker_fail", "deferred_fail", "off", "locked", "retried", "keyed", "transport")
"""One Glue job per task, named like the task."""
SECRET = "hunter2-secret-value"
"""The value of a secret argument that Glue's ErrorMessage of the failing jobs repeats."""
USER_CONF = "spark.shared=user --conf spark.user.only=1"
"""The run-level --conf every task sends."""
JOB_CONF = "spark.extraListeners=io.openlineage.spark.agent.OpenLineageSparkListener --conf spark.shared=job"
"""The job-level --conf of every job (DefaultArguments)."""


class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        if fullname == "airflow.providers.openlineage" or fullname.startswith("airflow.providers.openlineage."):
            raise ImportError(f"{fullname} is blocked for this test")


def _hide_openlineage() -> None:
    """Make the OpenLineage provider look uninstalled: its modules fail to import, its distribution is not listed.

    Airflow finds providers and plugins through the installed distributions' entry points, so the distribution is
    hidden too (an installed provider whose modules fail to import would break Airflow's provider discovery).
    """
    import importlib.metadata

    import importlib_metadata

    sys.meta_path.insert(0, _Block())
    for module in (importlib.metadata, importlib_metadata):
        listed = module.distributions

        def distributions(*args: Any, _listed: Any = listed, **kwargs: Any) -> Any:
            return (d for d in _listed(*args, **kwargs) if d.metadata["Name"] != "apache-airflow-providers-openlineage")

        module.distributions = distributions  # type: ignore[assignment]


def _die_after_start_once() -> None:
    """Make the first try of ``retried`` die right after StartJobRun returned (its run goes on running)."""
    from airflow.sdk.execution_time.context import TaskStateStoreAccessor

    from airflow_glue_runs._internal.start.ledger import STATE_KEY

    original = TaskStateStoreAccessor.set
    died: list[str] = []

    def set_once_then_die(self: Any, key: str, value: Any, **kwargs: Any) -> None:
        if key == STATE_KEY and value.get("run_id") and value.get("job_name") == "retried" and not died:
            died.append(value["run_id"])
            raise RuntimeError("worker killed right after StartJobRun")
        original(self, key, value, **kwargs)

    TaskStateStoreAccessor.set = set_once_then_die  # type: ignore[method-assign]


def main(dag_id: str, jobs: list[str], *, block: bool) -> dict[str, str]:
    if block:
        _hide_openlineage()
    sys.path.insert(0, str(Path(__file__).parent))
    import pendulum
    from airflow.sdk import DAG
    from support import register_and_test

    from airflow_glue_runs.operators import GlueJobRunOperator
    from airflow_glue_runs.sensors import GlueJobRunSensor

    _die_after_start_once()
    arguments = {"--conf": USER_CONF, "--db-password": SECRET}
    with DAG(dag_id, schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC")) as dag:
        for job in jobs:
            retries = {"retries": 1, "retry_delay": timedelta(0)} if job == "retried" else {}
            GlueJobRunOperator(
                task_id=job,
                job_name=job,
                arguments=arguments,
                deferrable=job.startswith("deferred"),
                poll_interval=0.1,
                # None: [openlineage] spark_inject_parent_job_info decides (the test sets it to True).
                openlineage_inject_parent_job_info=False if job == "off" else None,
                openlineage_inject_transport_info=job == "transport",
                **retries,
            )
        for job in {"worker_ok", "worker_fail"} & set(jobs):
            GlueJobRunSensor(
                task_id=f"sensor_{job}",
                job_name=job,
                run_id=f"{{{{ ti.xcom_pull(task_ids='{job}', key='glue_job_run_id') }}}}",
                poke_interval=0.1,
                trigger_rule="all_done",
            ).set_upstream(dag.task_dict[job])
    dag_run = register_and_test(dag, pendulum.datetime(2026, 1, 1, tz="UTC"))
    return {"run_id": str(dag_run.run_id), "state": str(dag_run.state)}


if __name__ == "__main__":
    result = main(sys.argv[1], sys.argv[2].split(","), block="--block-openlineage" in sys.argv[3:])
    print(RESULT_LINE + json.dumps(result))
