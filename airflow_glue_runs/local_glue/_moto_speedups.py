"""Three of moto's hot spots on the events path, made cheap with the same answers (moto pinned below 5.3).

A "Glue Job State Change" event goes through moto's EventBridge to an SQS queue, and a consumer receives it. In
moto 5.2 both steps cost time that grows with the queue's backlog, or parse the same text again and again:

- ``SQSBackend.is_message_valid_based_on_retention_period`` reads the queue's retention period through
  ``get_queue_attributes``, which builds every attribute three times, and each build scans every message of the
  queue (its approximate counts), for each message received. It now reads the queue's
  ``message_retention_period`` directly.
- Sending a message builds every attribute of the queue too (``SQSBackend.send_message`` asks for
  ``ContentBasedDeduplication``), so every message delivered scans the backlog, and each message's visibility costs
  a naive ``datetime`` to epoch conversion (``unix_time_millis``, ~5 us). SQS's module now takes the epoch from
  ``time.time()`` when no datetime is given: the scan remains, about 20 times cheaper.
- EventBridge builds a fresh JSONPath parser (a PLY grammar) for each of the 8 paths of its default input template,
  for every event and target. ``jsonpath_ng.ext.parse`` (which moto imports at each call) now keeps the parsed
  paths; a parsed path is not changed by ``find``.

Measured in the local Glue's process: a ReceiveMessage and DeleteMessageBatch of 10 messages from a backlog of 500
took 164 ms of its CPU (now 5 ms); a run's end and its event 7.5 ms (now 0.75 ms). Without them, 1000 runs ending
within 5 s (``make bench BENCH_ARGS="--events"``) swamped the local Glue, and the events reached their queue up to a
minute late: the local Glue, not the code under test, set the pace.
"""

from __future__ import annotations

import datetime
import functools
import time
from typing import Any

__all__ = ["speed_up_moto"]

_PARSED_PATHS = 512
"""JSONPath texts kept parsed (moto's event templates use 8; rules and state machines a few more)."""


@functools.cache
def speed_up_moto() -> None:
    """Patch moto's SQS retention check and clock, and JSONPath parsing (once per process; same answers)."""
    import jsonpath_ng.ext
    import moto.sqs.models
    from moto.sqs.models import SQSBackend

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention_period = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention_period + message.sent_timestamp / 1000 > _epoch_seconds())

    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period  # type: ignore[method-assign]
    # The names SQS's module imported from moto.core.utils (moto's other services keep theirs).
    moto.sqs.models.unix_time = _epoch_seconds  # type: ignore[attr-defined]
    moto.sqs.models.unix_time_millis = _epoch_millis  # type: ignore[attr-defined]
    # moto's EventBridge imports ``parse`` from this module at each call, so it gets the cached one.
    jsonpath_ng.ext.parse = functools.lru_cache(maxsize=_PARSED_PATHS)(jsonpath_ng.ext.parse)  # type: ignore[attr-defined]


def _epoch_seconds(dt: datetime.datetime | None = None) -> float:
    """Return moto's ``unix_time(dt)``: epoch seconds of a naive UTC datetime, or of now."""
    if dt is None:
        return time.time()
    return (dt - _EPOCH).total_seconds()


def _epoch_millis(dt: datetime.datetime | None = None) -> float:
    """Return moto's ``unix_time_millis(dt)``."""
    return _epoch_seconds(dt) * 1000.0


_EPOCH = datetime.datetime(1970, 1, 1)
