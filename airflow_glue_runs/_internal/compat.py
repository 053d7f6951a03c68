"""The Airflow imports that moved between Airflow 3 minors, in one place (3.0 to 3.3 are supported).

Everything else in the package imports from ``airflow.sdk`` names that every Airflow 3 has. Each entry says where
the name lives on which minor; only the sensor exceptions are imported with the module (Airflow loads
``airflow.exceptions`` anyway).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

try:  # Airflow 3.2+
    from airflow.sdk.exceptions import AirflowRescheduleException, AirflowSensorTimeout, AirflowSkipException
except ImportError:  # Airflow 3.0, 3.1 (3.2+ still re-exports them from airflow.exceptions, deprecated)
    from airflow.exceptions import (  # type: ignore[no-redef]
        AirflowRescheduleException,
        AirflowSensorTimeout,
        AirflowSkipException,
    )

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "AIRFLOW_VERSION",
    "AirflowRescheduleException",
    "AirflowSensorTimeout",
    "AirflowSkipException",
    "airflow_conf",
    "asset_state_stores",
    "default_deferrable",
    "mask_secret",
]


def _airflow_version() -> tuple[int, int]:
    from importlib.metadata import version

    major, minor, *_ = version("apache-airflow").split(".")
    return int(major), int(minor)


AIRFLOW_VERSION = _airflow_version()
"""The installed Airflow's (major, minor)."""


def airflow_conf() -> Any:
    """Return Airflow's configuration: ``airflow.sdk.configuration`` from 3.2, ``airflow.configuration`` before."""
    try:
        from airflow.sdk.configuration import conf
    except ImportError:  # Airflow 3.0, 3.1
        from airflow.configuration import conf
    return conf


def default_deferrable() -> bool:
    """Return ``[operators] default_deferrable`` (False when unset)."""
    return bool(airflow_conf().getboolean("operators", "default_deferrable", fallback=False))


def mask_secret(value: str) -> None:
    """Register ``value`` with Airflow's secrets masker (``airflow.sdk.log`` from 3.1, older on 3.0)."""
    register: Callable[[str], None]
    try:
        from airflow.sdk.log import mask_secret as sdk_mask_secret

        register = sdk_mask_secret
    except ImportError:  # Airflow 3.0
        from airflow.sdk.execution_time.secrets_masker import mask_secret as execution_mask_secret

        register = execution_mask_secret
    register(value)


def asset_state_stores(trigger: object) -> list[Any]:
    """Return the asset state store accessors of an asset watcher's trigger, one per watched asset (Airflow 3.3+).

    Airflow 3.3's triggerer sets ``BaseEventTrigger.asset_state_store`` (an ``AssetStateStoreAccessors``) before
    ``run()``, for a trigger that watches assets; earlier minors have no store (empty list). One trigger serves every
    asset whose watcher has the same trigger arguments, and the accessors' own ``get``/``set`` refuse more than one
    asset, so this reaches the per-asset accessors the object holds (``_by_name``, ``_by_uri`` in 3.3.2).
    """
    accessors = getattr(trigger, "asset_state_store", None)
    if accessors is None:
        return []
    by_name = getattr(accessors, "_by_name", None)
    by_uri = getattr(accessors, "_by_uri", None)
    if isinstance(by_name, dict) and isinstance(by_uri, dict):
        return [*by_name.values(), *by_uri.values()]
    return [accessors]  # a later Airflow that reshaped the object: its single-asset methods
