"""The project's exception types: bad parameters, Glue API errors, and runs that did not succeed."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

    from airflow_glue_runs.job_run import JobRun


__all__ = [
    "ErrorKind",
    "GlueAccessDeniedError",
    "GlueAlreadyExistsError",
    "GlueApiError",
    "GlueConcurrentModificationError",
    "GlueConcurrentRunsExceededError",
    "GlueEntityNotFoundError",
    "GlueInternalServiceError",
    "GlueInvalidInputError",
    "GlueJobDefinitionError",
    "GlueJobRunExpiredError",
    "GlueJobRunFailedError",
    "GlueJobRunNotFoundError",
    "GlueJobRunOutcomeError",
    "GlueJobRunParameterError",
    "GlueJobRunQueueTimeoutError",
    "GlueJobRunResultError",
    "GlueJobRunStartUnconfirmedError",
    "GlueJobRunStoppedError",
    "GlueJobRunTimeoutError",
    "GlueOperationTimeoutError",
    "GlueResourceNumberLimitExceededError",
    "GlueRunsError",
    "GlueThrottlingError",
    "classify_error",
    "translate_client_error",
    "translated_client_errors",
]


class GlueRunsError(Exception):
    """Base class of every error raised by airflow-glue-runs."""


class GlueJobRunParameterError(GlueRunsError, ValueError):
    """A parameter failed validation; nothing was sent to AWS.

    :param parameter: the parameter's name as the caller wrote it (e.g. ``worker_type``).
    :param problem: what is wrong and what is allowed.
    """

    def __init__(self, parameter: str, problem: str) -> None:
        super().__init__(f"Invalid {parameter}: {problem}")
        self.parameter = parameter
        self.problem = problem


class GlueApiError(GlueRunsError):
    """Glue answered an API call with an error.

    :param operation: the Glue operation, e.g. ``StartJobRun``.
    :param code: the AWS error code, e.g. ``ConcurrentRunsExceededException``.
    :param aws_message: the error message AWS sent, unchanged.
    :param hint: what the user can do about it, when there is something useful to say.
    """

    default_hint: str | None = None

    def __init__(
        self,
        operation: str,
        code: str,
        aws_message: str,
        *,
        job_name: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.operation = operation
        self.code = code
        self.aws_message = aws_message
        self.job_name = job_name
        self.hint = hint if hint is not None else self.default_hint
        where = f" for job {job_name!r}" if job_name else ""
        text = f"Glue {operation}{where} failed with {code}: {aws_message}"
        if self.hint:
            text += f" Hint: {self.hint}"
        super().__init__(text)


class GlueEntityNotFoundError(GlueApiError):
    """The job or run does not exist (``EntityNotFoundException``)."""

    default_hint = "Check the job name, the run id, the region and the AWS account of the connection."


class GlueConcurrentRunsExceededError(GlueApiError):
    """The job already has ``MaxConcurrentRuns`` active runs (``ConcurrentRunsExceededException``)."""

    default_hint = (
        "Raise the job's MaxConcurrentRuns (ExecutionProperty), or start the run with "
        "job_run_queuing_enabled=True so Glue queues it (WAITING) instead of refusing it."
    )


class GlueInvalidInputError(GlueApiError):
    """Glue refused the request's input (``InvalidInputException``)."""


class GlueResourceNumberLimitExceededError(GlueApiError):
    """An account or job limit was reached (``ResourceNumberLimitExceededException``)."""

    default_hint = "Check the Glue service quotas of the account and Region (Service Quotas console)."


class GlueInternalServiceError(GlueApiError):
    """Glue failed internally (``InternalServiceException``); botocore's retries did not get through."""


class GlueOperationTimeoutError(GlueApiError):
    """The Glue operation timed out (``OperationTimeoutException``)."""


class GlueAccessDeniedError(GlueApiError):
    """The credentials may not call this operation (``AccessDeniedException`` and friends)."""

    default_hint = "Grant the connection's IAM identity the glue action named in the message."


class GlueAlreadyExistsError(GlueApiError):
    """A job of that name already exists (``AlreadyExistsException`` from CreateJob)."""


class GlueConcurrentModificationError(GlueApiError):
    """Another caller changed the job at the same time (``ConcurrentModificationException``)."""

    default_hint = "Another task or tool is changing the same job; retry once it is done."


class GlueThrottlingError(GlueApiError):
    """Glue kept throttling after botocore's retry mode gave up."""

    default_hint = (
        "Raise the retry budget in the connection extra, e.g. "
        '{"config_kwargs": {"retries": {"mode": "adaptive", "max_attempts": 10}}}.'
    )


_BY_CODE: dict[str, type[GlueApiError]] = {
    "EntityNotFoundException": GlueEntityNotFoundError,
    "ConcurrentRunsExceededException": GlueConcurrentRunsExceededError,
    "InvalidInputException": GlueInvalidInputError,
    "AlreadyExistsException": GlueAlreadyExistsError,
    "ConcurrentModificationException": GlueConcurrentModificationError,
    "ResourceNumberLimitExceededException": GlueResourceNumberLimitExceededError,
    "InternalServiceException": GlueInternalServiceError,
    "OperationTimeoutException": GlueOperationTimeoutError,
    "AccessDeniedException": GlueAccessDeniedError,
    "AccessDenied": GlueAccessDeniedError,
    "UnauthorizedOperation": GlueAccessDeniedError,
    "UnrecognizedClientException": GlueAccessDeniedError,
    "InvalidClientTokenId": GlueAccessDeniedError,
    "ExpiredTokenException": GlueAccessDeniedError,
    "ThrottlingException": GlueThrottlingError,
    "Throttling": GlueThrottlingError,
    "TooManyRequestsException": GlueThrottlingError,
}


def translate_client_error(error: ClientError, *, job_name: str | None = None) -> GlueApiError:
    """Turn a botocore ``ClientError`` into the project's exception type for its AWS error code.

    The AWS code and message are kept unchanged on the result; raise it ``from`` the original error.
    """
    response: dict[str, Any] = dict(error.response)
    err = response.get("Error", {})
    code = str(err.get("Code") or "Unknown")
    message = str(err.get("Message") or error)
    operation = str(getattr(error, "operation_name", None) or "unknown operation")
    cls = _BY_CODE.get(code, GlueApiError)
    return cls(operation, code, message, job_name=job_name)


class GlueJobDefinitionError(GlueRunsError):
    """The job definition could not be made to match the spec.

    A missing script, active runs the policy refuses, declared fields Glue did not take: the message says which
    job and what is wrong.
    """

    def __init__(self, job_name: str, problem: str) -> None:
        super().__init__(f"Glue job {job_name!r}: {problem}")
        self.job_name = job_name
        self.problem = problem


@contextlib.contextmanager
def translated_client_errors(job_name: str | None) -> Iterator[None]:
    """Re-raise botocore ``ClientError`` as the project's exception types, keeping AWS's code and message."""
    from botocore.exceptions import ClientError

    try:
        yield
    except ClientError as err:
        raise translate_client_error(err, job_name=job_name) from err


class GlueJobRunStartUnconfirmedError(GlueRunsError):
    """StartJobRun went unanswered and the search for the run it may have created kept failing.

    A run may be running without its id being known. It carries the marker argument, so it stays findable: a
    retry of the task finds it and waits for it, a Clear stops it before starting afresh, and a person can find
    it by the marker in the job's runs.

    :param job_name: the Glue job.
    :param marker: the marker job argument as ``name=value``.
    :param searched_for: seconds the search was retried.
    :param reason: why the search failed (the last error).
    """

    def __init__(self, job_name: str, marker: str, *, searched_for: float, reason: str) -> None:
        self.job_name = job_name
        self.marker = marker
        self.searched_for = searched_for
        self.reason = reason
        super().__init__(
            f"StartJobRun for job {job_name!r} got no answer, and the search for the run it may have started "
            f"failed for {searched_for:.0f} s ({reason}). A run with the job argument {marker} may be running: "
            "a retry of this task finds it by that marker and waits for it, a Clear stops it before starting a "
            "fresh run; to find it by hand, look for that argument among the job's runs (GetJobRuns)."
        )


class ErrorKind:
    """How a failed Glue call is handled: retry at the next poll, resolve the wait, or propagate."""

    TRANSIENT = "transient"
    GONE = "gone"
    DENIED = "denied"
    UNEXPECTED = "unexpected"


_TRANSIENT_API_ERRORS = (GlueThrottlingError, GlueInternalServiceError, GlueOperationTimeoutError)
_TRANSIENT_CODES = frozenset(
    {
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "RequestTimeout",
        "RequestTimeoutException",
        "RequestLimitExceeded",
        "SlowDown",
        "PriorRequestNotComplete",
    }
)


@functools.cache
def _transient_connection_errors() -> tuple[type[Exception], ...]:
    """Connection faults botocore already retried; an SSL or proxy misconfiguration is not among them on purpose.

    Imported on first use: the triggerer imports the trigger's modules on its event loop, and botocore is heavy.
    """
    from botocore import exceptions

    return (
        exceptions.EndpointConnectionError,
        exceptions.ConnectTimeoutError,
        exceptions.ConnectionClosedError,
        exceptions.ReadTimeoutError,
    )


def classify_error(error: BaseException) -> str:
    """Return the :class:`ErrorKind` of an error raised by a Glue read (after botocore's own retries).

    The one judgement of read errors for every waiter: the trigger's poller, the operator's worker-side loop
    and the sensor (through :meth:`~airflow_glue_runs._internal.run.waiting.RunWatch.judge_read_error`).

    Takes the project's translated errors and raw botocore ``ClientError`` alike (building a client for an
    assumed role calls STS, whose errors are not translated).
    """
    from botocore.exceptions import ClientError

    if isinstance(error, ClientError):
        error = translate_client_error(error)
    if isinstance(error, GlueEntityNotFoundError):
        return ErrorKind.GONE
    if isinstance(error, GlueAccessDeniedError):
        return ErrorKind.DENIED
    if isinstance(error, (*_TRANSIENT_API_ERRORS, *_transient_connection_errors(), TimeoutError)):
        return ErrorKind.TRANSIENT
    if isinstance(error, GlueApiError):
        response = getattr(error.__cause__, "response", None) or {}
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if status >= 500 or error.code in _TRANSIENT_CODES:
            return ErrorKind.TRANSIENT
    return ErrorKind.UNEXPECTED


class Verdict(Protocol):
    """What an outcome error is built from: a :class:`~airflow_glue_runs._internal.run.waiting.WaitResult`."""

    @property
    def message(self) -> str: ...

    @property
    def run(self) -> JobRun | None: ...


class GlueJobRunOutcomeError(GlueRunsError):
    """A watched run did not succeed; ``result`` holds the verdict and the run as last seen.

    :param result: the :class:`~airflow_glue_runs._internal.run.waiting.WaitResult` that ended the wait.
    :param console_url: the run's page in the AWS console, when known.
    """

    def __init__(self, result: Verdict, *, console_url: str | None = None) -> None:
        self.result = result
        self.run = result.run
        self.console_url = console_url
        text = result.message
        if console_url:
            text += f" Console: {console_url}"
        super().__init__(text)


class GlueJobRunFailedError(GlueJobRunOutcomeError):
    """The run ended FAILED or ERROR (and the base of STOPPED and EXPIRED)."""


class GlueJobRunStoppedError(GlueJobRunFailedError):
    """The run was stopped (STOPPED), from the console, the API, or this provider's on_kill."""


class GlueJobRunExpiredError(GlueJobRunFailedError):
    """The run stayed queued until Glue expired it (EXPIRED); it never started."""


class GlueJobRunTimeoutError(GlueJobRunOutcomeError):
    """The run hit its own Timeout and Glue ended it (TIMEOUT)."""


class GlueJobRunQueueTimeoutError(GlueJobRunOutcomeError):
    """The run stayed WAITING longer than ``max_queue_wait``."""


class GlueJobRunNotFoundError(GlueJobRunOutcomeError):
    """The run or its job disappeared, or the connection may no longer read it, while it was watched."""


class GlueJobRunResultError(GlueRunsError):
    """The run's job result could not be taken (docs: "Job results").

    Missing with ``job_result="required"``, unreadable, too large, not a JSON object, or older than the run.

    :param uri: the S3 URI of the result object (``None`` when the run carries no result URI).
    :param problem: what is wrong, and what to do about it.
    :param job_name: the Glue job.
    :param run_id: the run.
    """

    def __init__(self, uri: str | None, problem: str, *, job_name: str = "", run_id: str = "") -> None:
        where = f" of Glue job run {run_id} of job {job_name}" if run_id else ""
        at = f" at {uri}" if uri else ""
        super().__init__(f"The job result{where}{at}: {problem}")
        self.uri = uri
        self.problem = problem
