"""Hand a JSON result from inside an AWS Glue job back to the Airflow task that started (or watched) the run.

Job side of airflow-glue-runs' job results (docs: "Job results"). This file depends on the standard library and
boto3 only, imports nothing from Airflow or airflow-glue-runs, and runs on Python 3.9+ (its annotations are never
evaluated), so it works on Glue's Python shell and Spark runtimes shipped alone: add it to the job's
``--extra-py-files`` (the file from the wheel:
``python -c "import airflow_glue_runs.glue_job_result as m; print(m.__file__)"``) or copy it next to the script.
In the job script::

    from glue_job_result import write_result   # shipped alone (--extra-py-files or a copy)
    # or: from airflow_glue_runs.glue_job_result import write_result   (the whole wheel installed)

    write_result({"rows": 1234, "output": "s3://bucket/out/"})

The task passes the S3 URI to write to in the job argument ``--airflow-glue-runs-result-uri``. Without that
argument (the script run by hand, or by a task that did not ask for a result) :func:`write_result` prints one line
and writes nothing. Calling it again overwrites the object: the last write wins.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["MAX_RESULT_BYTES", "RESULT_URI_ARGUMENT", "GlueJobResultError", "result_uri", "write_result"]

RESULT_URI_ARGUMENT = "--airflow-glue-runs-result-uri"
"""The job argument that carries the S3 URI of the run's result object (``s3://bucket/key.json``)."""
MAX_RESULT_BYTES = 256 * 1024
"""The largest result, in bytes of UTF-8 JSON: it ends up in Airflow's XCom table. The reader refuses more."""


class GlueJobResultError(ValueError):
    """The result cannot be written: not a JSON object, not JSON data, too large, or a bad result URI."""


def result_uri(argv: Sequence[str] | None = None) -> str | None:
    """Return the S3 URI the task passed in ``--airflow-glue-runs-result-uri``, or None when it is absent.

    Reads ``argv`` (default ``sys.argv``) tolerantly: ``--airflow-glue-runs-result-uri s3://...`` and
    ``--airflow-glue-runs-result-uri=s3://...`` both work; other arguments are ignored (unlike Glue's
    ``getResolvedOptions``, nothing is required). The last occurrence wins.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    found: str | None = None
    for index, arg in enumerate(args):
        if arg == RESULT_URI_ARGUMENT and index + 1 < len(args):
            found = args[index + 1]
        elif arg.startswith(RESULT_URI_ARGUMENT + "="):
            found = arg[len(RESULT_URI_ARGUMENT) + 1 :]
    return found or None


def encode_result(result: Any) -> bytes:
    """Return ``result`` as compact UTF-8 JSON, after checking it is a JSON object of at most the size limit."""
    if not isinstance(result, dict):
        raise GlueJobResultError(f"the job result must be a dict (a JSON object), got {type(result).__name__}")
    try:
        text = json.dumps(result, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as error:
        raise GlueJobResultError(f"the job result is not JSON data: {error}") from None
    body = text.encode("utf-8")
    if len(body) > MAX_RESULT_BYTES:
        raise GlueJobResultError(
            f"the job result is {len(body)} bytes of JSON, over the limit of {MAX_RESULT_BYTES} bytes (256 KiB): "
            "write the data to S3 yourself and return its location"
        )
    return body


def split_s3_uri(uri: str) -> tuple[str, str]:
    """Return ``(bucket, key)`` of ``s3://bucket/key``."""
    if not uri.startswith("s3://"):
        raise GlueJobResultError(f"the result URI must start with s3://, got {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket or not key:
        raise GlueJobResultError(f"the result URI must be s3://bucket/key, got {uri!r}")
    return bucket, key


def write_result(result: dict[str, Any], *, argv: Sequence[str] | None = None, client: Any = None) -> str | None:
    """Write ``result`` as JSON (``application/json``) to the run's result URI; return the URI, or None.

    Without ``--airflow-glue-runs-result-uri`` in ``argv`` (default ``sys.argv``) it prints one line and returns
    None, so the script runs anywhere. The result is checked before anything is sent: a ``dict`` of JSON data,
    at most :data:`MAX_RESULT_BYTES` encoded, else :class:`GlueJobResultError`. A second call overwrites the first.

    :param client: a boto3 S3 client; by default one is made with boto3's usual credentials and region, and the
        endpoint of ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL`` when set (also on boto3 releases that predate
        those variables).
    """
    body = encode_result(result)
    uri = result_uri(argv)
    if uri is None:
        print(f"glue_job_result: no {RESULT_URI_ARGUMENT} argument; the result was not written.")
        return None
    bucket, key = split_s3_uri(uri)
    if client is None:
        import boto3  # only when writing: the module imports without boto3

        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
        client = boto3.client("s3", endpoint_url=endpoint)
    client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")
    print(f"glue_job_result: wrote {len(body)} bytes to {uri}")
    return uri
