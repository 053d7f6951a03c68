"""``GlueJobRunHook``: a thin typed wrapper over Glue's job run API, sync and async.

Credentials, regions and endpoints come from the Amazon provider's ``AwsBaseHook`` (an Airflow ``aws``
connection). Sync methods and their ``a``-prefixed async twins share request building, error translation and
response parsing; only the I/O differs. The hook never sleeps: throttling and transient errors are retried by
botocore's retry mode (``standard`` with 5 attempts unless the connection or ``config`` says otherwise).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Container, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from botocore.config import Config

from airflow_glue_runs._internal.definitions.calls import GlueJobDefinitionCalls
from airflow_glue_runs._internal.start.request import (
    MAX_PAGE_SIZE,
    MAX_STOP_BATCH,
    build_start_job_run_request,
    check_int,
    check_name,
)
from airflow_glue_runs.exceptions import GlueJobRunParameterError
from airflow_glue_runs.exceptions import translated_client_errors as _translated
from airflow_glue_runs.job_run import JobRun

if TYPE_CHECKING:
    from mypy_boto3_glue import GlueClient

__all__ = ["DEFAULT_RETRIES", "GlueJobRunHook", "JobRunsPage", "StopJobRunError", "StopJobRunsResult"]

DEFAULT_RETRIES: Mapping[str, Any] = {"mode": "standard", "max_attempts": 5}
"""botocore retry settings used when neither the connection extra nor ``config`` sets ``retries``."""
LOGS_RETRIES: Mapping[str, Any] = {"mode": "standard", "total_max_attempts": 1}
"""CloudWatch Logs calls are never resent by botocore: log forwarding backs off by itself (the read quota is
account-wide and shared with every other user of the account)."""


@dataclasses.dataclass(frozen=True)
class JobRunsPage:
    """One GetJobRuns page: the runs in the order Glue sent them (those asked for), and the next page's token."""

    runs: tuple[JobRun, ...]
    next_token: str | None


@dataclasses.dataclass(frozen=True)
class StopJobRunError:
    """A run that BatchStopJobRun did not stop, with Glue's reason."""

    run_id: str
    code: str
    message: str


@dataclasses.dataclass(frozen=True)
class StopJobRunsResult:
    """What BatchStopJobRun did: the runs it accepted to stop and the per-run errors it reported."""

    job_name: str
    stopped: tuple[str, ...]
    errors: tuple[StopJobRunError, ...]


def _get_job_run_request(job_name: str, run_id: str) -> dict[str, Any]:
    return {"JobName": check_name("job_name", job_name), "RunId": check_name("run_id", run_id)}


def _get_job_runs_request(job_name: str, max_results: int | None, next_token: str | None) -> dict[str, Any]:
    request: dict[str, Any] = {"JobName": check_name("job_name", job_name)}
    if max_results is not None:
        request["MaxResults"] = check_int("max_results", max_results, minimum=1, maximum=MAX_PAGE_SIZE)
    if next_token is not None:
        request["NextToken"] = next_token
    return request


def _paginate_request(
    job_name: str, page_size: int | None, max_items: int | None, starting_token: str | None
) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if page_size is not None:
        config["PageSize"] = check_int("page_size", page_size, minimum=1, maximum=MAX_PAGE_SIZE)
    if max_items is not None:
        config["MaxItems"] = check_int("max_items", max_items, minimum=1)
    if starting_token is not None:
        config["StartingToken"] = starting_token
    return {"JobName": check_name("job_name", job_name), "PaginationConfig": config}


def _stop_batches(job_name: str, run_ids: Sequence[str]) -> list[dict[str, Any]]:
    check_name("job_name", job_name)
    if isinstance(run_ids, str) or not run_ids:
        raise GlueJobRunParameterError("run_ids", "expected a non-empty list of run ids")
    ids = list(dict.fromkeys(check_name("run_ids", run_id) for run_id in run_ids))
    return [{"JobName": job_name, "JobRunIds": ids[i : i + MAX_STOP_BATCH]} for i in range(0, len(ids), MAX_STOP_BATCH)]


def _parse_page(response: Mapping[str, Any], run_ids: Container[str] | None = None) -> JobRunsPage:
    items = response.get("JobRuns", ())
    if run_ids is not None:  # a triggerer's poller reads pages of thousands of runs: parse only the wanted ones
        items = [item for item in items if item.get("Id") in run_ids]
    runs = tuple(JobRun.from_api(item) for item in items)
    return JobRunsPage(runs=runs, next_token=response.get("NextToken") or None)


def _merge_stop_responses(
    job_name: str, responses: Sequence[Mapping[str, Any]], redact: Callable[[str], str] | None
) -> StopJobRunsResult:
    stopped: list[str] = []
    errors: list[StopJobRunError] = []
    for response in responses:
        stopped.extend(item["JobRunId"] for item in response.get("SuccessfulSubmissions", ()))
        for item in response.get("Errors", ()):
            detail = item.get("ErrorDetail", {})
            errors.append(
                StopJobRunError(
                    run_id=item.get("JobRunId", ""),
                    code=detail.get("ErrorCode", "Unknown"),
                    message=redact(detail.get("ErrorMessage", "")) if redact else detail.get("ErrorMessage", ""),
                )
            )
    return StopJobRunsResult(job_name=job_name, stopped=tuple(stopped), errors=tuple(errors))


class GlueJobRunHook(GlueJobDefinitionCalls, AwsBaseHook):
    """Start, read, list and stop AWS Glue job runs through an Airflow ``aws`` connection.

    Accepts ``AwsBaseHook``'s arguments (``aws_conn_id``, ``region_name``, ``verify``, ``config``);
    the client type is always ``glue``. Async methods take an optional aiobotocore ``client``; without one
    they open a client for the call. The job-definition calls (GetJob, CreateJob, UpdateJob, tags, the script
    upload) come from :class:`~airflow_glue_runs._internal.definitions.calls.GlueJobDefinitionCalls`.
    """

    hook_name = "AWS Glue job runs"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["client_type"] = "glue"
        super().__init__(*args, **kwargs)

    def _get_config(self, config: Config | None = None) -> Config:
        """Add botocore's ``standard`` retry mode unless the connection or caller configured retries."""
        merged: Config = super()._get_config(config)
        if getattr(merged, "retries", None) is None:
            merged = Config(retries=cast(Any, dict(DEFAULT_RETRIES))).merge(merged)
        return merged

    def without_resends(self) -> GlueJobRunHook:
        """Return a hook on the same connection and config whose botocore never resends a call (for StartJobRun).

        StartJobRun has no idempotency token: :func:`~airflow_glue_runs._internal.start.reattach.start_once` decides
        about retries.
        """
        config = self.config.merge(Config(retries={"mode": "standard", "total_max_attempts": 1}))
        return GlueJobRunHook(
            aws_conn_id=self.aws_conn_id, region_name=self.region_name, verify=self.verify, config=config
        )

    @property
    def glue(self) -> GlueClient:
        """The hook's boto3 Glue client (cached by ``AwsBaseHook.conn``)."""
        return cast("GlueClient", self.conn)

    def logs_client(self) -> Any:
        """Return a new boto3 CloudWatch Logs client on the hook's connection, region, endpoint and config.

        botocore never resends its calls (:data:`LOGS_RETRIES`).
        """
        return self.service_client("logs", retries=LOGS_RETRIES)

    def service_client(self, service: str, *, retries: Mapping[str, Any] | None = None) -> Any:
        """Return a new boto3 client of another AWS service (``logs``, ``s3``, ``sts``) on the hook's connection.

        The connection's region, endpoint (per service), ``verify`` and botocore config apply; ``retries``
        replaces the retry settings.
        """
        session: Any = self.get_session(region_name=self.region_name)
        endpoint_url = self.conn_config.get_service_endpoint_url(service_name=service)
        config = self._get_config()
        if retries is not None:
            config = config.merge(Config(retries=cast(Any, dict(retries))))
        return session.client(service, endpoint_url=endpoint_url, config=config, verify=self.verify)

    # -- start -------------------------------------------------------------------------------------------------

    def start_job_run(self, job_name: str, arguments: Mapping[str, Any] | None = None, **options: Any) -> str:
        """Start a run of ``job_name`` and return its run id.

        ``options`` are the StartJobRun fields in snake_case (see
        :func:`~airflow_glue_runs._internal.start.request.build_start_job_run_request`); all are checked before the
        call.
        """
        request = build_start_job_run_request(job_name, arguments, **options)
        with _translated(job_name):
            response = self.glue.start_job_run(**request)
        run_id: str = response["JobRunId"]
        self.log.info("Started Glue job run %s of job %s", run_id, job_name)
        return run_id

    async def astart_job_run(
        self, job_name: str, arguments: Mapping[str, Any] | None = None, *, client: Any = None, **options: Any
    ) -> str:
        """Async twin of :meth:`start_job_run`."""
        request = build_start_job_run_request(job_name, arguments, **options)
        response = await self._acall("start_job_run", request, job_name, client)
        run_id: str = response["JobRunId"]
        self.log.info("Started Glue job run %s of job %s", run_id, job_name)
        return run_id

    # -- read --------------------------------------------------------------------------------------------------

    def get_job_run(self, job_name: str, run_id: str) -> JobRun:
        """Read one run (GetJobRun)."""
        request = _get_job_run_request(job_name, run_id)
        with _translated(job_name):
            response = self.glue.get_job_run(**request)
        return JobRun.from_api(response["JobRun"])

    async def aget_job_run(self, job_name: str, run_id: str, *, client: Any = None) -> JobRun:
        """Async twin of :meth:`get_job_run`."""
        request = _get_job_run_request(job_name, run_id)
        response = await self._acall("get_job_run", request, job_name, client)
        return JobRun.from_api(response["JobRun"])

    def get_job(self, job_name: str) -> dict[str, Any]:
        """Read the job definition (GetJob): its ``DefaultArguments``, ``NonOverridableArguments`` and the rest."""
        with _translated(job_name):
            response = self.glue.get_job(JobName=check_name("job_name", job_name))
        job: dict[str, Any] = dict(response["Job"])
        return job

    def get_job_default_arguments(self, job_name: str) -> dict[str, str]:
        """Return the job's DefaultArguments (GetJob)."""
        return dict(self.get_job(job_name).get("DefaultArguments") or {})

    async def aget_job_default_arguments(self, job_name: str, *, client: Any = None) -> dict[str, str]:
        """Async twin of :meth:`get_job_default_arguments`."""
        response = await self._acall("get_job", {"JobName": check_name("job_name", job_name)}, job_name, client)
        return dict(response["Job"].get("DefaultArguments") or {})

    def get_job_runs_page(
        self,
        job_name: str,
        *,
        max_results: int | None = None,
        next_token: str | None = None,
        run_ids: Container[str] | None = None,
    ) -> JobRunsPage:
        """Read one GetJobRuns page of up to ``max_results`` (1-200) runs, in the order Glue sends them.

        :param run_ids: keep only these runs of the page (the others are not parsed); None keeps every run.
        """
        request = _get_job_runs_request(job_name, max_results, next_token)
        with _translated(job_name):
            response = self.glue.get_job_runs(**request)
        return _parse_page(response, run_ids)

    async def aget_job_runs_page(
        self,
        job_name: str,
        *,
        max_results: int | None = None,
        next_token: str | None = None,
        run_ids: Container[str] | None = None,
        client: Any = None,
    ) -> JobRunsPage:
        """Async twin of :meth:`get_job_runs_page`."""
        request = _get_job_runs_request(job_name, max_results, next_token)
        return _parse_page(await self._acall("get_job_runs", request, job_name, client), run_ids)

    def iter_job_runs(
        self,
        job_name: str,
        *,
        page_size: int | None = None,
        max_items: int | None = None,
        starting_token: str | None = None,
    ) -> Iterator[JobRun]:
        """Yield the job's runs through boto3's GetJobRuns paginator (AWS documents newest first)."""
        request = _paginate_request(job_name, page_size, max_items, starting_token)
        with _translated(job_name):
            for page in self.glue.get_paginator("get_job_runs").paginate(**request):
                yield from _parse_page(page).runs

    async def aiter_job_runs(
        self,
        job_name: str,
        *,
        page_size: int | None = None,
        max_items: int | None = None,
        starting_token: str | None = None,
        client: Any = None,
    ) -> AsyncIterator[JobRun]:
        """Async twin of :meth:`iter_job_runs`, over aiobotocore's paginator."""
        request = _paginate_request(job_name, page_size, max_items, starting_token)
        async with self._aclient(client) as glue:
            with _translated(job_name):
                async for page in glue.get_paginator("get_job_runs").paginate(**request):
                    for run in _parse_page(page).runs:
                        yield run

    # -- stop --------------------------------------------------------------------------------------------------

    def stop_job_runs(
        self, job_name: str, run_ids: Sequence[str], *, redact: Callable[[str], str] | None = None
    ) -> StopJobRunsResult:
        """Ask Glue to stop runs (BatchStopJobRun, 25 ids per call); per-run refusals are in ``errors``.

        :param redact: applied to Glue's per-run error messages before they are logged or returned (e.g. a
            :class:`~airflow_glue_runs._internal.masking.Redactor` of the task's secret values).
        """
        responses = []
        for request in _stop_batches(job_name, run_ids):
            with _translated(job_name):
                responses.append(self.glue.batch_stop_job_run(**request))
        return self._log_stop(_merge_stop_responses(job_name, responses, redact))

    async def astop_job_runs(
        self,
        job_name: str,
        run_ids: Sequence[str],
        *,
        client: Any = None,
        redact: Callable[[str], str] | None = None,
    ) -> StopJobRunsResult:
        """Async twin of :meth:`stop_job_runs`."""
        responses = []
        async with self._aclient(client) as glue:
            for request in _stop_batches(job_name, run_ids):
                responses.append(await self._acall("batch_stop_job_run", request, job_name, glue))
        return self._log_stop(_merge_stop_responses(job_name, responses, redact))

    def _log_stop(self, result: StopJobRunsResult) -> StopJobRunsResult:
        if result.stopped:
            self.log.info("Asked Glue to stop run(s) %s of job %s", ", ".join(result.stopped), result.job_name)
        for error in result.errors:
            self.log.warning(
                "Glue did not stop run %s of job %s: %s: %s",
                error.run_id,
                result.job_name,
                error.code,
                error.message,
            )
        return result

    # -- async plumbing ----------------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _aclient(self, client: Any) -> AsyncIterator[Any]:
        """Yield ``client``, or open an aiobotocore client for the block when none is given."""
        if client is not None:
            yield client
            return
        async with await self.get_async_conn() as opened:  # type: ignore[no-untyped-call]
            yield opened

    async def _acall(self, method: str, request: Mapping[str, Any], job_name: str, client: Any) -> dict[str, Any]:
        async with self._aclient(client) as glue:
            with _translated(job_name):
                response: dict[str, Any] = await getattr(glue, method)(**request)
        return response
