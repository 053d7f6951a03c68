"""Reading a run's job result: one ranged GetObject, then the checks (size, freshness, a JSON object) and masking.

Runs on the worker only, once the run has ended (never in the triggerer: the result may hold secret values, and
the read blocks). Nothing here decides what a missing result means for the task: :mod:`.task` does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from airflow_glue_runs.exceptions import GlueJobRunResultError
from airflow_glue_runs.glue_job_result import MAX_RESULT_BYTES, GlueJobResultError, split_s3_uri

__all__ = ["MAX_RESULT_BYTES", "is_stale", "masked", "read_result"]

_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})
_DENIED = frozenset({"AccessDenied", "403", "Forbidden", "AllAccessDisabled"})


def is_stale(last_modified: datetime | None, started_on: datetime | None) -> bool:
    """Whether an object is older than the run, allowing for S3's whole seconds.

    S3's LastModified is truncated to the second, so an object written in the run's first second shows a time up
    to one second before StartedOn: only an object older than the start of StartedOn's second is refused.
    """
    if last_modified is None or started_on is None:
        return False
    return last_modified < started_on.replace(microsecond=0)


def masked(value: Any, redact: Callable[[str], str]) -> Any:
    """Return JSON data with ``redact`` applied to every string in it, keys included."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [masked(item, redact) for item in value]
    if isinstance(value, dict):
        return {redact(key): masked(item, redact) for key, item in value.items()}
    return value


def read_result(
    client: Any, uri: str, *, started_on: datetime | None, redact: Callable[[str], str]
) -> dict[str, Any] | None:
    """Return the result object at ``uri`` (masked), or None when there is no object.

    One GetObject with ``Range: bytes=0-MAX_RESULT_BYTES`` (one byte past the limit, to tell an oversize object).
    Raises :class:`~airflow_glue_runs.exceptions.GlueJobRunResultError` when the object cannot be read (access
    denied names ``s3:GetObject``), is over :data:`MAX_RESULT_BYTES`, older than the run, or not a JSON object.

    :param client: a boto3 S3 client on the task's connection.
    :param started_on: the run's StartedOn (objects written before it are refused as stale).
    :param redact: masks the task's secret values in every string of the result.
    """
    from botocore.exceptions import ClientError

    try:
        bucket, key = split_s3_uri(uri)
    except GlueJobResultError as error:
        raise GlueJobRunResultError(uri, f"not an S3 object URI ({error})") from None
    try:
        response = client.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{MAX_RESULT_BYTES}")
    except ClientError as error:
        detail = error.response.get("Error", {})
        code = str(detail.get("Code", ""))
        if code in _MISSING:
            return None
        if code == "InvalidRange":  # an empty object has no byte 0
            raise GlueJobRunResultError(uri, "the object is empty, not a JSON object") from error
        if code in _DENIED:
            raise GlueJobRunResultError(
                uri,
                "access denied: the Airflow connection needs s3:GetObject on this object (and s3:ListBucket on "
                "the bucket, without which S3 answers AccessDenied for a missing object too)",
            ) from error
        raise GlueJobRunResultError(uri, f"GetObject failed: {code}: {detail.get('Message', '')}") from error
    with response["Body"] as stream:
        body = stream.read(MAX_RESULT_BYTES + 1)
    if len(body) > MAX_RESULT_BYTES:
        total = str(response.get("ContentRange", "")).rpartition("/")[2] or f"more than {MAX_RESULT_BYTES}"
        raise GlueJobRunResultError(
            uri, f"the object is {total} bytes, over the limit of {MAX_RESULT_BYTES} bytes (256 KiB)"
        )
    last_modified = response.get("LastModified")
    if is_stale(last_modified, started_on):
        raise GlueJobRunResultError(
            uri,
            f"the object was last written at {last_modified.isoformat() if last_modified else None}, before the "
            f"run started ({started_on.isoformat() if started_on else None}): refused as another run's result",
        )
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise GlueJobRunResultError(uri, f"the object is not UTF-8 JSON ({error})") from None
    if not isinstance(value, dict):
        raise GlueJobRunResultError(uri, f"the object holds a JSON {_json_type(value)}, not a JSON object")
    result: dict[str, Any] = masked(value, redact)
    return result


def _json_type(value: Any) -> str:
    names = {list: "array", str: "string", bool: "boolean", int: "number", float: "number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
