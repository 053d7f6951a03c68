"""A faster botocore response parser for the Glue answers the poller reads on the event loop; the same output.

botocore's JSON parser walks the service model for every value of a response, in Python: a GetJobRuns page of 200
runs (30 fields each, a map of arguments) costs it about 8 ms of the event loop, and when the pages of several jobs
arrive together they are parsed in one step of the loop, one after the other. For the shapes of :data:`FAST_SHAPES`
this parser compiles the model once into converters that touch only what JSON cannot say as it is (timestamps,
blobs) and drop what botocore drops (``null`` values, members the model does not know), so the page costs little
more than ``json.loads``. Anything the converters do not handle the same way (renamed members, tagged unions,
recursive shapes) falls back to botocore's own walk, as does every other shape and every error response.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from aiobotocore.parsers import AioJSONParser, AioResponseParserFactory

__all__ = ["FAST_SHAPES", "PageParserFactory", "parse_timestamp"]

FAST_SHAPES = frozenset({"GetJobRunsResponse", "GetJobRunResponse"})
"""Output shapes parsed by compiled converters (the poller's pages and single reads)."""

Convert = Callable[[Any], Any]


def parse_timestamp(value: Any) -> datetime:
    """Parse a Glue timestamp to an aware UTC datetime.

    botocore's default parser returns ``tzlocal()`` datetimes whose offset lookups cost tens of microseconds
    each: three timestamps per run, 200 runs per page, on the event loop. Glue's JSON protocol sends epoch
    seconds; anything else goes to botocore's parser.
    """
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    from botocore.utils import parse_timestamp as botocore_parse_timestamp

    parsed: datetime = botocore_parse_timestamp(value)
    return parsed.astimezone(UTC)


class _Unsupported(Exception):
    """The shape uses a feature the converters do not reproduce: botocore parses it."""


def compile_shape(shape: Any, timestamp: Convert, blob: Convert, _open: frozenset[str] = frozenset()) -> Convert | None:
    """Return a function turning the JSON value of ``shape`` into what botocore's JSON parser returns for it.

    ``None`` means the JSON value already is that. Raises :class:`_Unsupported` for what only botocore handles.
    """
    kind = shape.type_name
    if kind == "timestamp":
        return timestamp
    if kind == "blob":
        return blob
    if kind == "list":
        item = compile_shape(shape.member, timestamp, blob, _open)
        if item is None:
            return None
        return lambda value: [None if each is None else item(each) for each in value]
    if kind == "map":
        entry = compile_shape(shape.value, timestamp, blob, _open)
        if entry is None:
            return None
        return lambda value: {key: None if each is None else entry(each) for key, each in value.items()}
    if kind != "structure":
        return None  # strings, numbers, booleans: botocore returns the JSON value
    if shape.is_document_type or shape.is_tagged_union or shape.name in _open:
        raise _Unsupported(shape.name)
    members = shape.members
    if any("name" in member.serialization for member in members.values()):
        raise _Unsupported(shape.name)
    inner = _open | {shape.name}
    converters = [
        (name, convert)
        for name, member in members.items()
        if (convert := compile_shape(member, timestamp, blob, inner)) is not None
    ]
    known = frozenset(members)

    def structure(value: Any) -> Any:
        if value is None:
            return None
        if value.keys() <= known and None not in value.values():
            parsed = value  # decoded for this response only: converted in place
        else:
            parsed = {key: each for key, each in value.items() if each is not None and key in known}
        for name, convert in converters:
            if name in parsed:
                parsed[name] = convert(parsed[name])
        return parsed

    return structure


class _PageParser(AioJSONParser):
    """aiobotocore's JSON parser, with compiled converters for the shapes of :data:`FAST_SHAPES`."""

    def __init__(self, converters: dict[str, Convert | None], **defaults: Any) -> None:
        super().__init__(**defaults)
        self._converters = converters

    def _handle_json_body(self, raw_body: bytes, shape: Any) -> Any:
        # botocore's private parser members are not in its type stubs.
        convert = self._converter(shape)
        if convert is None:
            return cast(Any, super())._handle_json_body(raw_body, shape)
        return convert(cast(Any, self)._parse_body_as_json(raw_body))

    def _converter(self, shape: Any) -> Convert | None:
        if shape is None or shape.name not in FAST_SHAPES:
            return None
        if shape.name not in self._converters:
            try:
                me = cast(Any, self)
                convert = compile_shape(shape, me._timestamp_parser, me._blob_parser)
            except _Unsupported:
                convert = None
            self._converters[shape.name] = convert
        return self._converters[shape.name]


class PageParserFactory(AioResponseParserFactory):
    """aiobotocore's parser factory, giving :class:`_PageParser` for JSON services; register it on a session.

    Timestamps are parsed by :func:`parse_timestamp` unless :meth:`set_parser_defaults` says otherwise.
    """

    def __init__(self) -> None:
        super().__init__()
        self.set_parser_defaults(timestamp_parser=parse_timestamp)
        self._converters: dict[str, Convert | None] = {}

    def create_parser(self, protocol_name: str) -> Any:
        """Return a parser for ``protocol_name``: ours for ``json``, aiobotocore's for the others."""
        if protocol_name == "json":
            return _PageParser(self._converters, **cast(Any, self)._defaults)
        return super().create_parser(protocol_name)
