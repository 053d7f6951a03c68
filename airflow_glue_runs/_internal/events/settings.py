"""The triggerer's event settings: ``[glue_runs] event_queue_url`` and ``event_safety_interval``.

They are read where the triggerer runs (Airflow's configuration, e.g. ``AIRFLOW__GLUE_RUNS__EVENT_QUEUE_URL`` per
triggerer), never in DAGs. A bad value is logged once, naming the option, and turns the events off: waits poll
as they would without a queue, and no task fails for it.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from urllib.parse import urlsplit

from airflow_glue_runs._internal.compat import airflow_conf

__all__ = ["DEFAULT_SAFETY_INTERVAL", "SECTION", "EventSettings", "read_event_settings"]

log = logging.getLogger(__name__)

SECTION = "glue_runs"
"""The Airflow configuration section of the provider's options."""

DEFAULT_SAFETY_INTERVAL = 300.0
"""Seconds between reads of a watched run while events flow, unless ``event_safety_interval`` says otherwise."""

_QUEUE_PATH = re.compile(r"/(\d{12})/([A-Za-z0-9_-]{1,80}(?:\.fifo)?)/?")
_reported: set[str] = set()  # bad values already logged by this process


@dataclasses.dataclass(frozen=True)
class EventSettings:
    """What the triggerer's configuration says about events.

    :param queue_url: the SQS queue this triggerer consumes, or None: no events (poll as without them).
    :param safety_interval: seconds between reads of an opted-in watched run while the consumer is healthy.
    """

    queue_url: str | None = None
    safety_interval: float = DEFAULT_SAFETY_INTERVAL


def read_event_settings() -> EventSettings:
    """Read the event settings from Airflow's configuration; a bad value is logged once and turns events off."""
    conf = airflow_conf()
    raw_url = conf.get(SECTION, "event_queue_url", fallback=None)
    if raw_url is None or not str(raw_url).strip():
        return EventSettings()
    queue_url = str(raw_url).strip()
    raw_interval = conf.get(SECTION, "event_safety_interval", fallback=None)
    problem = _queue_url_problem(queue_url)
    if problem is not None:
        _report_once("event_queue_url", f"the value {problem}")  # not echoed: it could hold a password
        return EventSettings()
    if raw_interval is None or not str(raw_interval).strip():
        return EventSettings(queue_url=queue_url)
    try:
        interval = float(raw_interval)
    except ValueError:
        interval = math.nan
    if not math.isfinite(interval) or interval <= 0:
        _report_once("event_safety_interval", f"{raw_interval!r} is not a positive number of seconds")
        return EventSettings()
    return EventSettings(queue_url=queue_url, safety_interval=interval)


def _queue_url_problem(url: str) -> str | None:
    """Return why ``url`` is no SQS queue URL (``https://sqs.REGION.amazonaws.com/ACCOUNT/NAME``), or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "is not an http(s) URL"
    if parts.query or parts.fragment or not _QUEUE_PATH.fullmatch(parts.path):
        return "has no /ACCOUNT_ID/QUEUE_NAME path (a queue URL, not an ARN or a queue name)"
    return None


def _report_once(option: str, problem: str) -> None:
    if option in _reported:
        return
    _reported.add(option)
    log.error(
        "Ignoring [%s] %s: %s. Glue job runs are polled at their poll_interval, without events; expected an SQS "
        "queue URL such as https://sqs.us-east-1.amazonaws.com/123456789012/airflow-glue-events and a positive "
        "event_safety_interval in seconds (default %g).",
        SECTION,
        option,
        problem,
        DEFAULT_SAFETY_INTERVAL,
    )
