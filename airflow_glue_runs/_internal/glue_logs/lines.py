"""Turn CloudWatch events of one Glue run into log lines, each exactly once: the pure core, no I/O.

A :class:`LogPosition` remembers, per stream, the newest event timestamp taken and the event ids taken at that
timestamp (the edge of the next read window, which starts there again because FilterLogEvents' ``startTime``
is inclusive), plus the text of a line that an event cut short. :meth:`LogPosition.take` sorts a read's events
per stream, drops those already taken, reassembles lines across events, and caps what one read forwards.

Glue cuts long output into events of :data:`EVENT_BYTES` bytes, so a line may run on into the stream's next
event. An event that long which does not end with a newline is taken to continue; shorter events hold whole
lines. An event older than a stream's position is taken as already forwarded: CloudWatch may ingest an event
late, and one that arrives later than the read window's lag behind real time is not forwarded (forwarded
logs are best effort, never a data channel).

The position is small JSON (:meth:`LogPosition.to_json`): it travels in trigger kwargs and events, so that a
defer, a resume or a reschedule does not forward a line twice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "EVENT_BYTES",
    "MAX_BYTES_PER_READ",
    "MAX_LINES_PER_READ",
    "LogLine",
    "LogPosition",
    "TakenLines",
    "stream_key",
]

EVENT_BYTES = 32_768
"""The size of the events Glue cuts long output into."""
MAX_LINES_PER_READ = 2_000
"""Lines one read forwards per run at most; the rest are dropped with a notice."""
MAX_BYTES_PER_READ = 512 * 1024
"""Bytes (UTF-8) one read forwards per run at most."""
_MAX_PARTIAL_BYTES = 256 * 1024  # a "line" longer than this is forwarded in pieces
_MAX_KEPT_PARTIAL = 8 * 1024  # a held line longer than this is not carried across a defer or reschedule
_UTF8_SLACK = 3  # an event cut before a multi-byte character is up to 3 bytes short of EVENT_BYTES


def stream_key(group: str, stream: str) -> str:
    """Return the position key of a stream (stream names cannot contain ``:``)."""
    return f"{group}:{stream}"


@dataclasses.dataclass(frozen=True)
class LogLine:
    """One forwarded line and where it came from."""

    group: str
    stream: str
    text: str


@dataclasses.dataclass
class TakenLines:
    """What one read forwards: the new lines in order per stream, and how many the caps dropped."""

    lines: list[LogLine] = dataclasses.field(default_factory=list)
    dropped: int = 0

    def notice(self) -> str | None:
        """Return the line that says lines were dropped, or None."""
        if not self.dropped:
            return None
        return (
            f"{self.dropped} Glue log line(s) dropped: one read forwards at most {MAX_LINES_PER_READ} lines and "
            f"{MAX_BYTES_PER_READ // 1024} KiB per run; the full log is in CloudWatch."
        )


@dataclasses.dataclass
class _Stream:
    timestamp: int = -1
    ids: set[str] = dataclasses.field(default_factory=set)
    partial: str = ""


class LogPosition:
    """How far the forwarding of one run's streams has got.

    :param start: epoch milliseconds to read a stream from until it has a position (the run's start).
    """

    def __init__(self, start: int) -> None:
        self.start = start
        self._streams: dict[str, _Stream] = {}

    def window_start(self, keys: Iterable[str]) -> int:
        """Return the earliest ``startTime`` (ms, inclusive) a read of these streams must ask for."""
        return min((self.stream_start(key) for key in keys), default=self.start)

    def prefix_start(self, key_prefix: str) -> int:
        """Return the ``startTime`` of a prefix read: the oldest position among the streams it already found.

        A stream the read has not found yet had no events before the previous read's window end, which no
        known stream's position is past, so starting there misses none of its lines.
        """
        return self.window_start([key for key in self._streams if key.startswith(key_prefix)])

    def stream_start(self, key: str) -> int:
        """Return where a read of one stream starts (ms, inclusive)."""
        stream = self._streams.get(key)
        return stream.timestamp if stream is not None and stream.timestamp >= 0 else self.start

    def advance_to(self, start: int) -> None:
        """Skip everything before ``start`` (ms): a trigger rebuilt after a restart must not repeat lines."""
        self.start = max(self.start, start)
        for stream in self._streams.values():
            if stream.timestamp < start:
                stream.timestamp, stream.ids = start - 1, set()

    def take(
        self,
        group: str,
        events: Iterable[Mapping[str, Any]],
        *,
        max_lines: int = MAX_LINES_PER_READ,
        max_bytes: int = MAX_BYTES_PER_READ,
    ) -> TakenLines:
        """Take the new events of one group (FilterLogEvents ``events``) and return their lines, capped.

        Events may come in any order and across pages; within a stream they are ordered by timestamp (ties
        keep the order CloudWatch sent them in).
        """
        by_stream: dict[str, list[Mapping[str, Any]]] = {}
        for event in events:
            by_stream.setdefault(str(event.get("logStreamName", "")), []).append(event)
        taken = TakenLines()
        budget = _Budget(max_lines, max_bytes)
        for name in sorted(by_stream):
            stream = self._streams.setdefault(stream_key(group, name), _Stream(timestamp=self.start - 1))
            for event in sorted(by_stream[name], key=lambda e: int(e.get("timestamp", 0))):
                timestamp, event_id = int(event.get("timestamp", 0)), str(event.get("eventId", ""))
                if timestamp < stream.timestamp or (timestamp == stream.timestamp and event_id in stream.ids):
                    continue  # already taken (the window edge), or ingested too late
                if timestamp > stream.timestamp:
                    stream.timestamp, stream.ids = timestamp, set()
                stream.ids.add(event_id)
                for text in _lines(stream, str(event.get("message", ""))):
                    budget.add(taken, LogLine(group, name, text))
        return taken

    def drain(self, *, max_lines: int = MAX_LINES_PER_READ, max_bytes: int = MAX_BYTES_PER_READ) -> TakenLines:
        """Return the lines still held because an event cut them short (the run is over: nothing follows)."""
        taken = TakenLines()
        budget = _Budget(max_lines, max_bytes)
        for key in sorted(self._streams):
            stream = self._streams[key]
            if stream.partial:
                group, _, name = key.rpartition(":")
                budget.add(taken, LogLine(group, name, stream.partial))
                stream.partial = ""
        return taken

    def to_json(self) -> dict[str, Any]:
        """Return the position as JSON data (a held partial line only when short: it travels in kwargs)."""
        streams = {
            key: [s.timestamp, sorted(s.ids), s.partial if len(s.partial) <= _MAX_KEPT_PARTIAL else ""]
            for key, s in self._streams.items()
        }
        return {"start": self.start, "streams": streams}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LogPosition:
        """Rebuild a position from :meth:`to_json` output."""
        position = cls(int(data["start"]))
        for key, (timestamp, ids, partial) in dict(data.get("streams") or {}).items():
            position._streams[str(key)] = _Stream(int(timestamp), {str(i) for i in ids}, str(partial))
        return position


class _Budget:
    def __init__(self, max_lines: int, max_bytes: int) -> None:
        self.lines = max_lines
        self.bytes = max_bytes

    def add(self, taken: TakenLines, line: LogLine) -> None:
        size = len(line.text.encode())
        if self.lines <= 0 or size > self.bytes:
            taken.dropped += 1
            self.lines = 0  # once full, drop the rest: never forward a later line and skip an earlier one
            return
        self.lines -= 1
        self.bytes -= size
        taken.lines.append(line)


def _lines(stream: _Stream, message: str) -> list[str]:
    """Split one event's text into whole lines, holding back a line the event cut short."""
    text = stream.partial + message
    stream.partial = ""
    cut = len(message.encode()) >= EVENT_BYTES - _UTF8_SLACK and not message.endswith("\n")
    lines = text.split("\n")
    if cut:
        stream.partial = lines.pop()
        if len(stream.partial.encode()) > _MAX_PARTIAL_BYTES:
            lines.append(stream.partial)
            stream.partial = ""
    elif lines[-1] == "" and len(lines) > 1:
        lines.pop()  # the text ended with a newline
    return [line.removesuffix("\r") for line in lines]
