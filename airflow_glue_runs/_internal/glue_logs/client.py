"""What the triggerer's log reader calls CloudWatch Logs with: its aiobotocore client and its rate limit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from airflow_glue_runs._internal.polling.shared_client import ClientKey

__all__ = ["TokenBucket", "build_logs_client"]


class TokenBucket:
    """At most ``rate`` calls per second on average, in bursts of at most ``burst`` (default: two seconds' worth).

    :param rate: tokens added per second.
    :param burst: the most tokens held.
    :param clock: monotonic seconds (tests pass a fake one).
    :param sleep: the async sleep used while waiting for a token.
    """

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = max(rate, 1e-3)
        self.burst = burst if burst is not None else max(1.0, 2 * self.rate)
        self.tokens = self.burst
        self.clock = clock
        self.sleep = sleep
        self.updated = clock()

    async def take(self) -> None:
        """Wait for one token."""
        while True:
            now = self.clock()
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens >= 1:
                self.tokens -= 1
                return
            await self.sleep((1 - self.tokens) / self.rate)


def build_logs_client(key: ClientKey) -> Any:
    """Build and enter the aiobotocore CloudWatch Logs client of ``key``; runs in a worker thread."""
    from botocore.config import Config

    from airflow_glue_runs._internal.polling.shared_client import open_client
    from airflow_glue_runs.hooks import LOGS_RETRIES

    return open_client(key, "logs", Config(retries=dict(LOGS_RETRIES)))[1]  # type: ignore[arg-type]
