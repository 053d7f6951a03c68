"""Names the S3, STS, IAM, SQS and EventBridge requests the local Glue passes on to moto, for its counters. No moto.

The service is the one a request is signed for (SigV4 ``Authorization`` header, or ``X-Amz-Credential`` of a
presigned URL; SigV2, which boto3 still uses for presigned S3 URLs, is S3's); requests of other services and
unsigned ones are not named (not counted).

- STS and IAM: the ``Action`` parameter (query string or form body), e.g. ``GetCallerIdentity``.
- SQS and EventBridge: the ``X-Amz-Target`` operation (``ReceiveMessage``, ``PutRule``), else the ``Action``.
- S3: from the HTTP method, whether the request names a bucket and a key, and the sub-resource flag of its query
  string (``?tagging``, ``?uploads``...). The bucket is in the path (path style, ``/bucket/key``) or, as moto
  decides by default, the first label of a host that is not an IP address, ``localhost`` or a name without a dot
  (virtual-host style, ``bucket.localhost:PORT/key``). A request named by no rule below is ``S3:<METHOD>``.
"""

from __future__ import annotations

import io
import ipaddress
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, unquote

_CREDENTIAL_SERVICE = re.compile(r"Credential=[^/,\s]+/[^/]+/[^/]+/([^/,\s]+)/")
_ACTION = re.compile(rb"(?:^|&)Action=([A-Za-z0-9]+)(?:&|$)")

# (method, sub-resource) -> operation, for a request that names no bucket, a bucket, or a bucket and a key.
_SERVICE_OPERATIONS = {("GET", ""): "ListBuckets"}
_BUCKET_OPERATIONS = {
    **{("PUT", ""): "CreateBucket", ("HEAD", ""): "HeadBucket", ("DELETE", ""): "DeleteBucket"},
    **{("GET", ""): "ListObjects", ("GET", "list-type"): "ListObjectsV2", ("GET", "versions"): "ListObjectVersions"},
    **{("GET", "location"): "GetBucketLocation", ("GET", "uploads"): "ListMultipartUploads"},
    **{("POST", "delete"): "DeleteObjects", ("DELETE", "lifecycle"): "DeleteBucketLifecycle"},
    **{(m, "lifecycle"): f"{m.title()}BucketLifecycleConfiguration" for m in ("GET", "PUT")},
    **{(m, "notification"): f"{m.title()}BucketNotificationConfiguration" for m in ("GET", "PUT")},
    **{(m, "publicAccessBlock"): f"{m.title()}PublicAccessBlock" for m in ("GET", "PUT", "DELETE")},
    **{
        (m, sub): f"{m.title()}Bucket{sub[0].upper()}{sub[1:]}"
        for sub in ("tagging", "policy", "cors", "encryption", "website", "ownershipControls")
        for m in ("GET", "PUT", "DELETE")
    },
    **{(m, sub): f"{m.title()}Bucket{sub.title()}" for sub in ("acl", "versioning", "logging") for m in ("GET", "PUT")},
}
_OBJECT_OPERATIONS = {
    **{("GET", ""): "GetObject", ("HEAD", ""): "HeadObject", ("PUT", ""): "PutObject", ("DELETE", ""): "DeleteObject"},
    **{("POST", "uploads"): "CreateMultipartUpload", ("PUT", "uploadId"): "UploadPart"},
    **{("POST", "uploadId"): "CompleteMultipartUpload", ("DELETE", "uploadId"): "AbortMultipartUpload"},
    **{("GET", "uploadId"): "ListParts", ("GET", "attributes"): "GetObjectAttributes"},
    **{("POST", "restore"): "RestoreObject", ("POST", "select"): "SelectObjectContent"},
    **{(m, "tagging"): f"{m.title()}ObjectTagging" for m in ("GET", "PUT", "DELETE")},
    **{(m, "acl"): f"{m.title()}ObjectAcl" for m in ("GET", "PUT")},
}
_COPIES = {"PutObject": "CopyObject", "UploadPart": "UploadPartCopy"}
_SUBRESOURCES = frozenset(sub for table in (_BUCKET_OPERATIONS, _OBJECT_OPERATIONS) for _, sub in table if sub)
# Query parameters that are no sub-resource, even when empty (``prefix=``); other unknown ones make ``S3:<METHOD>``.
_PARAMETERS = frozenset(
    {"prefix", "delimiter", "marker", "start-after", "continuation-token", "encoding-type", "fetch-owner"}
    | {"max-keys", "key-marker", "version-id-marker", "upload-id-marker", "part-number-marker", "versionId"}
    | {"partNumber", "max-parts", "max-uploads", "optional-object-attributes", "AWSAccessKeyId", "Signature", "Expires"}
)


def operation_name(environ: dict[str, Any], service: str | None) -> str | None:
    """Return the operation name of an S3, STS, IAM, SQS or EventBridge request, or None for another one.

    Reading a form body puts an equal ``wsgi.input`` back, so moto answers the same request.

    :param environ: the WSGI request.
    :param service: what :func:`signing_service` says of it.
    """
    if service == "s3":
        return _s3_operation(environ)
    if service in ("sqs", "events"):
        return environ.get("HTTP_X_AMZ_TARGET", "").partition(".")[2] or _action(environ)
    if service in ("sts", "iam"):
        return _action(environ)
    return None


def signing_service(environ: Mapping[str, Any]) -> str | None:
    """Return the service a request is signed for (``s3``, ``sqs``...), None if unsigned."""
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    if authorization.startswith("AWS ") or _query_value(environ, "AWSAccessKeyId"):
        return "s3"  # SigV2
    match = _CREDENTIAL_SERVICE.search(authorization)
    if match is None:
        match = _CREDENTIAL_SERVICE.search("Credential=" + unquote(_query_value(environ, "X-Amz-Credential")))
    return match.group(1).lower() if match else None


def _query_value(environ: Mapping[str, Any], name: str) -> str:
    values = parse_qs(environ.get("QUERY_STRING", "")).get(name)
    return values[0] if values else ""


def _action(environ: dict[str, Any]) -> str | None:
    action = _query_value(environ, "Action")
    if action:
        return action
    body = environ["wsgi.input"].read()
    environ["wsgi.input"] = io.BytesIO(body)
    match = _ACTION.search(body)
    return match.group(1).decode() if match else None


def _s3_operation(environ: Mapping[str, Any]) -> str:
    method = environ.get("REQUEST_METHOD", "GET").upper()
    path = environ.get("PATH_INFO", "").lstrip("/")
    host_bucket = _host_bucket(environ.get("HTTP_HOST", ""))
    if host_bucket is not None:
        bucket, key = host_bucket, path
    else:
        bucket, _, key = path.partition("/")
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if query.get("x-id"):  # newer botocore names some operations itself
        return str(query["x-id"][0])
    flags = [name for name in query if name in _SUBRESOURCES or not _is_parameter(name)]
    if len(flags) > 1:  # no operation of the tables takes two sub-resources
        return f"S3:{method}"
    table = _OBJECT_OPERATIONS if key else _BUCKET_OPERATIONS if bucket else _SERVICE_OPERATIONS
    name = table.get((method, flags[0] if flags else ""))
    if name is None:
        return f"S3:{method}"
    return _COPIES.get(name, name) if environ.get("HTTP_X_AMZ_COPY_SOURCE") else name


def _is_parameter(name: str) -> bool:
    """Whether a query parameter is an operation's input or a presigned URL's signature (no sub-resource)."""
    return name in _PARAMETERS or name.lower().startswith(("x-amz-", "response-"))


def _host_bucket(host: str) -> str | None:
    """Return the bucket of a virtual-host style Host header, or None for a path style one (moto's defaults)."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if not name or "." not in name or name.startswith(("localhost", "[")):
        return None
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return name.split(".", 1)[0]
    return None
