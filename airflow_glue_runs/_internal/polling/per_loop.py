"""One object per running event loop: how the triggerer's shared machinery is scoped.

A triggerer process runs every trigger in one event loop, so the shared clients, pollers, log readers and job
defaults live once per loop. A loop that ends (a test's, ``dag.test()``'s) takes its objects with it.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["PerLoop"]

T = TypeVar("T")


class PerLoop(Generic[T]):
    """The ``T`` of the running event loop, made by ``factory`` on first use.

    :param factory: builds the loop's object (called on the loop, so it must not block).
    """

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._items: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = weakref.WeakKeyDictionary()

    def get(self) -> T:
        """Return the running loop's object, making it on first use."""
        loop = asyncio.get_running_loop()
        item = self._items.get(loop)
        if item is None:
            item = self._items[loop] = self._factory()
        return item
