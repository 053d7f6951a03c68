"""What a task hides in the texts it takes from AWS answers, and the one place that builds its Redactor.

Glue's ``ErrorMessage`` and ``StateDetail``, and the error messages of any AWS call, may quote a job's inputs. The
values to hide are those of the run's *merged* arguments (the job's ``DefaultArguments`` overlaid with the run's
``Arguments``) that are secret under the provider's name rule
(:func:`~airflow_glue_runs._internal.start.arguments.is_sensitive_name`) or listed in the task's
``secret_arguments``, plus the secret values the task sent itself. :func:`glue_text_redactor` builds that
:class:`~airflow_glue_runs._internal.masking.Redactor`; the trigger, the sensor, the worker-side wait and the
operator all use it, through :class:`TaskSecrets`.

GetJobRun does not return the job's defaults (moto merges them in, AWS does not), so a task reads them with GetJob,
lazily: only when a run carries Glue text to mask. The triggerer shares one read per job
(:mod:`airflow_glue_runs._internal.polling.job_defaults`); a worker reads them at most once per task instance.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import Any

from airflow_glue_runs._internal.masking import Redactor, airflow_min_secret_length
from airflow_glue_runs._internal.start.arguments import secret_values_in
from airflow_glue_runs.exceptions import GlueApiError
from airflow_glue_runs.job_run import JobRun

__all__ = [
    "RedactingLogger",
    "TaskSecrets",
    "describe_error",
    "error_code",
    "glue_text_redactor",
    "has_glue_text",
    "scrub",
    "scrubbed",
]


def glue_text_redactor(
    secret_arguments: Collection[str],
    *,
    run_arguments: Mapping[str, Any] | None = None,
    job_defaults: Mapping[str, Any] | None = None,
    known: Iterable[str] = (),
    min_length: int | None = None,
) -> Redactor:
    """Return the masking of a task's secret values in texts taken from AWS answers.

    :param secret_arguments: the task's ``secret_arguments`` (names, with or without ``--``).
    :param run_arguments: the run's ``Arguments`` as read from Glue, if known.
    :param job_defaults: the job's ``DefaultArguments`` (GetJob), if known.
    :param known: secret values known up front (those the operator sent).
    :param min_length: the shortest value masked; by default Airflow's ``[logging] min_length_masked_secret``.
    """
    merged = {**(job_defaults or {}), **(run_arguments or {})}
    values = [*known, *secret_values_in(merged, secret_arguments)]
    return Redactor(values, min_length=airflow_min_secret_length() if min_length is None else min_length)


def has_glue_text(run: JobRun | None) -> bool:
    """Whether ``run`` carries Glue's own free text (ErrorMessage or StateDetail), which may quote arguments."""
    return run is not None and bool(run.error_message or run.state_detail)


def describe_error(error: BaseException) -> str:
    """Return ``Type: text`` for an error, to be redacted before it is logged."""
    return f"{type(error).__name__}: {error}"


def error_code(error: BaseException) -> str:
    """Return an error's AWS code or type name: what a log line shared by many tasks may say (no AWS text)."""
    return error.code if isinstance(error, GlueApiError) else type(error).__name__


@dataclasses.dataclass(slots=True)
class TaskSecrets:
    """What one task knows of the secret values to hide, growing as it reads the run and the job's defaults.

    :param secret_arguments: the task's ``secret_arguments``.
    :param known: the secret values the task sent itself.
    """

    secret_arguments: tuple[str, ...] = ()
    known: tuple[str, ...] = ()
    run_arguments: Mapping[str, Any] | None = None
    job_defaults: Mapping[str, Any] | None = None
    """The job's DefaultArguments; None until read (an empty mapping after a failed read: not read again)."""
    defaults_read: bool = False
    """Whether this task read the job's DefaultArguments itself (or tried to)."""
    _built: tuple[tuple[Any, ...], Redactor] | None = dataclasses.field(default=None, init=False, repr=False)

    def never_read_defaults(self) -> None:
        """Mask without the job's defaults from now on: the texts at hand were masked with them already.

        A task that resumes from a trigger's event: the triggerer read the defaults and masked Glue's text.
        """
        self.job_defaults = {}

    def see(self, run: JobRun | None) -> None:
        """Remember the run's own arguments (events carry none: keep what an earlier read gave)."""
        if run is not None and run.arguments:
            self.run_arguments = run.arguments

    def wants_defaults(self, run: JobRun | None) -> bool:
        """Whether the job's defaults should be read now: not read yet, and ``run`` has Glue text to mask."""
        return self.job_defaults is None and has_glue_text(run)

    def redactor(self) -> Redactor:
        """Return the Redactor of every secret value known so far (:func:`glue_text_redactor`).

        Built again only when what it is built from changed: a trigger asks on every read of a queued run.
        """
        min_length = airflow_min_secret_length()
        inputs = (self.secret_arguments, self.known, self.run_arguments, self.job_defaults, min_length)
        if self._built is None or self._built[0] != inputs:
            redactor = glue_text_redactor(
                self.secret_arguments,
                run_arguments=self.run_arguments,
                job_defaults=self.job_defaults,
                known=self.known,
                min_length=min_length,
            )
            self._built = (inputs, redactor)
        return self._built[1]

    def redact(self, text: str) -> str:
        """Return ``text`` with every secret value known so far replaced by ``***``."""
        return self.redactor()(text)

    def redactor_for(self, run: JobRun | None, read_defaults: Callable[[], object]) -> Redactor:
        """Return the Redactor after seeing ``run``, calling ``read_defaults`` first when its Glue text needs them.

        For the worker (operator and sensor): ``read_defaults`` fills :attr:`job_defaults` (:meth:`defaults`).
        """
        self.see(run)
        if self.wants_defaults(run):
            read_defaults()
        return self.redactor()

    def needed_defaults(self, read: Callable[[], Mapping[str, Any]]) -> Mapping[str, Any]:
        """Return the job's DefaultArguments for a decision that needs them (a default ``--TempDir``), read once.

        Unlike :meth:`defaults`, a failed read raises: the caller cannot go on without them.
        """
        if not self.defaults_read or self.job_defaults is None:
            self.job_defaults = dict(read())
            self.defaults_read = True
        return self.job_defaults

    def job_output_redactor(
        self, run: JobRun | None, read: Callable[[], Mapping[str, Any]], log: Any, job_name: str
    ) -> Redactor:
        """Return the Redactor for what the job itself wrote (its result): the job's defaults are always read.

        Unlike Glue's text, which the triggerer already masked with them, a result is read only on the worker,
        so a task resumed from a deferral reads the defaults too (one GetJob per task, shared).
        """
        self.see(run)
        if not self.defaults_read:
            self.read_defaults(read, log, job_name)
        return self.redactor()

    def defaults(self, read: Callable[[], Mapping[str, Any]], log: Any, job_name: str) -> Mapping[str, Any]:
        """Return the job's DefaultArguments, read once per task (masking and the worker's log location share it)."""
        if self.job_defaults is None:
            self.read_defaults(read, log, job_name)
        return self.job_defaults or {}

    def read_defaults(self, read: Callable[[], Mapping[str, Any]], log: Any, job_name: str) -> None:
        """Read the job's defaults with ``read`` (GetJob, blocking: workers only), once; a failure is logged, masked.

        A failure leaves the masking to what is known (the task's values and the run's arguments): it never
        fails the task.
        """
        self.defaults_read = True
        try:
            self.job_defaults = dict(read())
        except Exception as error:
            self.job_defaults = {}
            log.warning(
                "Could not read the DefaultArguments of Glue job %s (to mask its secret values in Glue's text): %s",
                job_name,
                self.redact(describe_error(error)),
            )


def scrub(error: BaseException, redact: Callable[[str], str]) -> None:
    """Redact, in place, the texts of ``error`` and of every exception it was raised from or during.

    Traceback printers show each exception of the chain by ``str()``, which reads ``args``; botocore's
    ``ClientError`` keeps the AWS message in its ``response`` too, and ``GlueApiError`` in ``aws_message``.
    """
    _scrub(error, redact, set())


def _scrub(error: BaseException, redact: Callable[[str], str], seen: set[int]) -> None:
    if id(error) in seen:
        return
    seen.add(id(error))
    error.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in error.args)
    if isinstance(error, GlueApiError):
        error.aws_message = redact(error.aws_message)
    response = getattr(error, "response", None)
    detail = response.get("Error") if isinstance(response, dict) else None
    if isinstance(detail, dict) and isinstance(detail.get("Message"), str):
        detail["Message"] = redact(detail["Message"])
    for part in (error.__cause__, error.__context__):
        if part is not None:
            _scrub(part, redact, seen)


@contextlib.contextmanager
def scrubbed(redactor: Callable[[], Callable[[str], str]]) -> Iterator[None]:
    """Let an ``Exception`` leave the block with its texts redacted (:func:`scrub`); Airflow's signals pass as is."""
    try:
        yield
    except Exception as error:
        try:
            redact = redactor()
        except Exception:  # never hide the task's real error behind one of the masking's own
            redact = None
        if redact is not None:
            scrub(error, redact)
        raise


@dataclasses.dataclass(frozen=True)
class RedactingLogger:
    """A logger that redacts each formatted message (for code that logs AWS error texts it did not build).

    :param log: the task's logger.
    :param redactor: returns the current Redactor (it grows as the task learns secret values).
    """

    log: Any
    redactor: Callable[[], Callable[[str], str]]

    def _text(self, event: Any, args: tuple[Any, ...]) -> str:
        text = str(event) % args if args else str(event)
        return self.redactor()(text)

    def info(self, event: Any, *args: Any, **kw: Any) -> Any:
        """Log at INFO, redacted."""
        return self.log.info("%s", self._text(event, args))

    def warning(self, event: Any, *args: Any, **kw: Any) -> Any:
        """Log at WARNING, redacted."""
        return self.log.warning("%s", self._text(event, args))
