"""What the asset watcher tests read through the REST API: the watched asset, its events, its stored position.

``dags/e2e_glue_asset_watcher.py`` watches ``e2e-watched``; each asset event starts (or joins) a run of that DAG,
whose task returns the Glue run ids behind it.
"""

from __future__ import annotations

from typing import Any

from airflow_stack import FINAL_DAG_RUN_STATES, AirflowStack

WATCHER_DAG = "e2e_glue_asset_watcher"
WATCHED_JOB = "e2e-watched"
WATCHED_ASSET = "e2e_watched_runs"
POSITION_KEY_PREFIX = "airflow_glue_runs.ended/"  # GlueJobRunEndedTrigger.position_key


def asset_id(stack: AirflowStack) -> int:
    """Return the id of the watched asset."""
    assets = stack.api("GET", "/api/v2/assets", params={"limit": 100})["assets"]
    (found,) = [asset["id"] for asset in assets if asset["name"] == WATCHED_ASSET]
    return int(found)


def event_payloads(stack: AirflowStack, asset: int) -> list[dict[str, Any]]:
    """Return the payload of each event of the watched asset, oldest first."""
    params = {"asset_id": asset, "limit": 100, "order_by": "timestamp"}
    events = stack.api("GET", "/api/v2/assets/events", params=params)["asset_events"]
    return [dict(event["extra"]["payload"]) for event in events if event["asset_id"] == asset]


def dag_run_glue_ids(stack: AirflowStack) -> list[str] | None:
    """Return the Glue run ids the watcher DAG's runs returned, all runs together; None while one is not final."""
    runs = stack.api("GET", f"/api/v2/dags/{WATCHER_DAG}/dagRuns", params={"limit": 100})["dag_runs"]
    if any(run["state"] not in FINAL_DAG_RUN_STATES for run in runs):
        return None
    ids: list[str] = []
    for run in runs:
        assert run["state"] == "success", run
        ids += stack.xcom(WATCHER_DAG, run["dag_run_id"], "glue_run_ids", "return_value")
    return ids


def stored_position(stack: AirflowStack, asset: int) -> dict[str, Any] | None:
    """Return the watcher's position in the asset's state store (Airflow 3.3), or None while none is stored."""
    entries = stack.api("GET", f"/api/v2/assets/{asset}/state-store", params={"limit": 100})["asset_state_store"]
    values = [entry["value"] for entry in entries if entry["key"].startswith(POSITION_KEY_PREFIX)]
    return dict(values[0]) if values else None
