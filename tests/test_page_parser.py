"""The poller's response parser: botocore's output for GetJobRuns and GetJobRun, from compiled converters."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import botocore.session
import pytest
from aiobotocore.parsers import AioJSONParser
from botocore.model import ShapeResolver

from airflow_glue_runs._internal.polling import page_parser
from airflow_glue_runs._internal.polling.page_parser import PageParserFactory, compile_shape, parse_timestamp

GLUE = botocore.session.get_session().get_service_model("glue")


def _run(i: int, **changes: Any) -> dict[str, Any]:
    run = {
        "Id": f"jr_{i:04d}",
        "Attempt": 0,
        "JobName": "etl",
        "StartedOn": 1767225600.25 + i,
        "LastModifiedOn": 1767225601,
        "JobRunState": "RUNNING",
        "Arguments": {"--day": "2026-01-01", "--password": "hunter2"},
        "PredecessorRuns": [{"JobName": "up", "RunId": "jr_up"}],
        "MaxCapacity": 10,
        "NotificationProperty": {"NotifyDelayAfter": 5},
        "DPUSeconds": 1.5,
    }
    return {**run, **changes}


def _parse(parser: Any, operation: str, body: dict[str, Any], status: int = 200) -> Any:
    response = {"status_code": status, "headers": {}, "body": json.dumps(body).encode(), "context": {}}
    return asyncio.run(parser.parse(response, GLUE.operation_model(operation).output_shape))


@pytest.mark.parametrize(
    ("operation", "body"),
    [
        ("GetJobRuns", {"JobRuns": [_run(i) for i in range(5)], "NextToken": "t"}),
        # null values and members newer than the model are dropped, as botocore drops them
        ("GetJobRuns", {"JobRuns": [_run(1, ErrorMessage=None, NewField={"x": 1}), _run(2, CompletedOn=None)]}),
        ("GetJobRuns", {"JobRuns": []}),
        ("GetJobRun", {"JobRun": _run(3, CompletedOn="2026-01-01T01:00:00+01:00", JobRunState="FAILED")}),
        ("GetJobRun", {}),
    ],
)
def test_the_compiled_parser_returns_what_botocore_returns(operation: str, body: dict[str, Any]) -> None:
    """For the poller's shapes the compiled converters give exactly botocore's parse (timestamps as UTC datetimes,
    nulls and unknown members dropped, nested structures, lists and maps)."""
    ours = PageParserFactory().create_parser("json")
    assert _parse(ours, operation, body) == _parse(AioJSONParser(timestamp_parser=parse_timestamp), operation, body)


def test_other_shapes_and_errors_go_to_botocore(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shapes outside FAST_SHAPES and error answers are parsed by botocore's walk; the converters are compiled once."""
    compiled: list[str] = []
    real = page_parser.compile_shape

    def counting(shape: Any, *args: Any, **kwargs: Any) -> Any:
        compiled.append(shape.name)
        return real(shape, *args, **kwargs)

    monkeypatch.setattr(page_parser, "compile_shape", counting)
    factory = PageParserFactory()
    job = {"Job": {"Name": "etl", "CreatedOn": 1767225600, "DefaultArguments": {"--a": "b"}}}
    assert _parse(factory.create_parser("json"), "GetJob", job)["Job"]["CreatedOn"] == datetime(2026, 1, 1, tzinfo=UTC)
    error = {"__type": "EntityNotFoundException", "Message": "no such run"}
    assert _parse(factory.create_parser("json"), "GetJobRun", error, status=400)["Error"]["Code"] == (
        "EntityNotFoundException"
    )
    for _ in range(3):
        _parse(factory.create_parser("json"), "GetJobRuns", {"JobRuns": [_run(1)]})
    assert [name for name in compiled if name.endswith("Response")] == ["GetJobRunsResponse"]


def test_shapes_the_converters_cannot_reproduce_are_refused() -> None:
    """A renamed member or a tagged union makes the compiler refuse the shape (botocore then parses it)."""
    shapes = ShapeResolver(
        {
            "Renamed": {"type": "structure", "members": {"A": {"shape": "Text", "locationName": "a"}}},
            "Union": {"type": "structure", "union": True, "members": {"A": {"shape": "Text"}}},
            "Plain": {"type": "structure", "members": {"A": {"shape": "Text"}, "T": {"shape": "Time"}}},
            "Text": {"type": "string"},
            "Time": {"type": "timestamp"},
        }
    )
    for name in ("Renamed", "Union"):
        with pytest.raises(page_parser._Unsupported):
            compile_shape(shapes.get_shape_by_name(name), parse_timestamp, bytes)
    plain = compile_shape(shapes.get_shape_by_name("Plain"), parse_timestamp, bytes)
    assert plain is not None
    assert plain({"A": "x", "B": "y", "T": 0}) == {"A": "x", "T": datetime(1970, 1, 1, tzinfo=UTC)}
