"""The hook's job-definition calls (sync): GetJob, CreateJob, UpdateJob, the job's tags and the script upload.

:class:`~airflow_glue_runs.hooks.GlueJobRunHook` inherits them. Requests are checked before they are sent
(``check_name``), Glue's errors come back as the project's exception types, and nothing here calls IAM: a role
name goes to Glue as it is. S3 and STS clients are built on the hook's connection (:meth:`service_client`).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from airflow_glue_runs._internal.start.request import check_name
from airflow_glue_runs.exceptions import (
    GlueEntityNotFoundError,
    GlueJobDefinitionError,
    GlueJobRunParameterError,
    translated_client_errors,
)

if TYPE_CHECKING:
    from botocore.exceptions import ClientError
    from mypy_boto3_glue import GlueClient

__all__ = ["GlueJobDefinitionCalls", "ScriptUpload", "content_address", "script_key", "split_s3_uri"]

_MISSING_OBJECT = frozenset({"404", "NoSuchKey", "NotFound"})
_WRITTEN_BY_ANOTHER = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})


@dataclasses.dataclass(frozen=True)
class ScriptUpload:
    """Where a local script went: its ``s3://`` URI, its content hash and whether this call wrote it."""

    uri: str
    sha256: str
    uploaded: bool


def split_s3_uri(parameter: str, uri: str) -> tuple[str, str]:
    """Return ``(bucket, key)`` of an ``s3://bucket/key`` URI; raise naming ``parameter`` when it is not one."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket or not key or key.endswith("/"):
        raise GlueJobRunParameterError(parameter, f"expected s3://bucket/key of a file, got {uri!r}")
    return bucket, key


def script_key(prefix: str, job_name: str, sha256: str, file_name: str) -> str:
    """Return the content-addressed key of a script: ``{prefix}/{job}/{sha256[:16]}/{file name}``.

    The key changes exactly when the script's bytes do, so an object is never overwritten and a job's
    ScriptLocation moves only with its code.
    """
    parts = [prefix.strip("/"), job_name, sha256[:16], file_name]
    return "/".join(part for part in parts if part)


def content_address(path: Path, *, bucket: str, prefix: str, job_name: str) -> tuple[str, bytes, Any]:
    """Return a local script's ``s3://`` URI at its content-addressed key, its bytes and their SHA-256."""
    body = path.read_bytes()
    digest = hashlib.sha256(body)
    key = script_key(prefix, job_name, digest.hexdigest(), path.name)
    return f"s3://{check_name('script_bucket', bucket)}/{key}", body, digest


class GlueJobDefinitionCalls:
    """GetJob, CreateJob, UpdateJob, GetTags/TagResource/UntagResource and the script upload, for one connection."""

    if TYPE_CHECKING:

        @property
        def glue(self) -> GlueClient: ...

        log: Any
        conn_partition: str

        def service_client(self, service: str, *, retries: Mapping[str, Any] | None = None) -> Any: ...

    def find_job(self, job_name: str) -> dict[str, Any] | None:
        """Read the job definition (GetJob); ``None`` when there is no such job."""
        try:
            with translated_client_errors(job_name):
                response = self.glue.get_job(JobName=check_name("job_name", job_name))
        except GlueEntityNotFoundError:
            return None
        return dict(response["Job"])

    def create_job(self, request: Mapping[str, Any]) -> str:
        """Create a job (CreateJob) from a full request (``Name`` and the definition, ``Tags`` included)."""
        job_name = check_name("job_name", request.get("Name"))
        with translated_client_errors(job_name):
            self.glue.create_job(**request)
        self.log.info("Created Glue job %s", job_name)
        return job_name

    def update_job(self, job_name: str, job_update: Mapping[str, Any]) -> None:
        """Replace the job's definition with ``job_update`` (UpdateJob overwrites every field it does not carry)."""
        with translated_client_errors(job_name):
            self.glue.update_job(JobName=check_name("job_name", job_name), JobUpdate=cast(Any, dict(job_update)))
        self.log.info("Updated Glue job %s", job_name)

    def get_job_tags(self, job_name: str, job_arn: str) -> dict[str, str]:
        """Return the job's tags (GetTags on its ARN)."""
        with translated_client_errors(job_name):
            response = self.glue.get_tags(ResourceArn=job_arn)
        return dict(response.get("Tags") or {})

    def tag_job(self, job_name: str, job_arn: str, tags: Mapping[str, str]) -> None:
        """Add or change tags of the job (TagResource)."""
        with translated_client_errors(job_name):
            self.glue.tag_resource(ResourceArn=job_arn, TagsToAdd=dict(tags))

    def untag_job(self, job_name: str, job_arn: str, keys: Iterable[str]) -> None:
        """Remove tags from the job (UntagResource)."""
        with translated_client_errors(job_name):
            self.glue.untag_resource(ResourceArn=job_arn, TagsToRemove=list(keys))

    def job_arn(self, job_name: str, *, account: str | None = None) -> str:
        """Return the job's ARN; the account is read with STS GetCallerIdentity unless given."""
        if account is None:
            with translated_client_errors(job_name):
                account = str(self.service_client("sts").get_caller_identity()["Account"])
        region = self.glue.meta.region_name
        return f"arn:{self.conn_partition}:glue:{region}:{account}:job/{check_name('job_name', job_name)}"

    def script_exists(self, job_name: str, uri: str, *, parameter: str = "command.script") -> bool:
        """Whether the ``s3://`` object of ``job_name``'s script exists (HeadObject)."""
        from botocore.exceptions import ClientError  # botocore loads with the hook, not with the operator's module

        bucket, key = split_s3_uri(parameter, uri)
        try:
            self.service_client("s3").head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if _code(error) in _MISSING_OBJECT:
                return False
            raise _s3_error(job_name, "HeadObject", uri, error) from error
        return True

    def upload_script(self, path: Path, *, bucket: str, prefix: str, job_name: str) -> ScriptUpload:
        """Put a local script at its content-addressed key, unless it is there already; never overwrite.

        HeadObject first (the usual case: nothing to write); then a conditional PutObject (``If-None-Match: *``)
        so that two tasks racing to write the same script write it once, with its SHA-256 checked by S3.
        """
        from botocore.exceptions import ClientError

        uri, body, digest = content_address(path, bucket=bucket, prefix=prefix, job_name=job_name)
        key = uri.split("/", 3)[3]
        if self.script_exists(job_name, uri, parameter="script_bucket"):
            return ScriptUpload(uri=uri, sha256=digest.hexdigest(), uploaded=False)
        try:
            self.service_client("s3").put_object(
                Bucket=bucket,
                Key=key,
                Body=body,
                IfNoneMatch="*",
                ChecksumSHA256=base64.b64encode(digest.digest()).decode(),
                Metadata={"sha256": digest.hexdigest()},
            )
        except ClientError as error:
            written = _code(error) in _WRITTEN_BY_ANOTHER
            if not written or not self.script_exists(job_name, uri, parameter="script_bucket"):
                raise _s3_error(job_name, "PutObject", uri, error) from error
            return ScriptUpload(uri=uri, sha256=digest.hexdigest(), uploaded=False)
        self.log.info("Uploaded script %s to %s", path.name, uri)
        return ScriptUpload(uri=uri, sha256=digest.hexdigest(), uploaded=True)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _s3_error(job_name: str, operation: str, uri: str, error: ClientError) -> GlueJobDefinitionError:
    message = error.response.get("Error", {}).get("Message", "")
    return GlueJobDefinitionError(job_name, f"S3 {operation} of the script {uri} failed with {_code(error)}: {message}")
