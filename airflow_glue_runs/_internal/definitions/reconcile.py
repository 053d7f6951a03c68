"""Make one Glue job match its spec: create it when missing, update only the declared fields, then its tags.

The steps, in order: the script (a local file goes to its content-addressed S3 key, an ``s3://`` script must
exist); GetJob; CreateJob with the tags when the job is missing (``AlreadyExistsException``: another task was
first, so compare with its job); the diff (:mod:`~airflow_glue_runs._internal.definitions.diff`); nothing more
when it is empty or on a dry run; the policy for active runs; UpdateJob (``ConcurrentModificationException``
retried with backoff), read back and checked; the tags last. No IAM call is made.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from airflow_glue_runs._internal.definitions.calls import content_address
from airflow_glue_runs._internal.definitions.diff import FieldChange, compare, job_update, tag_changes
from airflow_glue_runs.exceptions import GlueAlreadyExistsError, GlueConcurrentModificationError, GlueJobDefinitionError

if TYPE_CHECKING:
    from airflow_glue_runs._internal.definitions.spec import JobSpec
    from airflow_glue_runs.hooks import GlueJobRunHook

__all__ = ["ON_ACTIVE_RUNS", "Action", "DefinitionResult", "JobReconciler", "ReconcileOptions"]

Action = Literal["created", "updated", "unchanged"]
ON_ACTIVE_RUNS = ("update", "wait", "fail")
"""What to do when the job has active runs (STARTING, RUNNING, STOPPING, WAITING) and must be updated."""
UPDATE_ATTEMPTS = 5


@dataclasses.dataclass(frozen=True)
class DefinitionResult:
    """What the definition step did (or, on a dry run, would do) to the job.

    :param action: ``created``, ``updated`` or ``unchanged``.
    :param changes: the changed fields, secret values masked (on creation: every declared field).
    :param script_location: the job's ScriptLocation when the spec declares a script.
    :param active_runs: the ids of the runs that were active when the job was updated.
    """

    job_name: str
    action: Action
    changes: tuple[FieldChange, ...]
    dry_run: bool
    script_location: str | None = None
    active_runs: tuple[str, ...] = ()

    def to_xcom(self) -> dict[str, Any]:
        """Return the result as plain JSON data: the operator's return value."""
        return {
            "job_name": self.job_name,
            "action": self.action,
            "dry_run": self.dry_run,
            "changes": [change.to_json() for change in self.changes],
            "script_location": self.script_location,
            "active_runs": list(self.active_runs),
        }


@dataclasses.dataclass(frozen=True)
class ReconcileOptions:
    """How the definition step runs (the operator's settings, checked).

    :param script_root: the folder a relative local script path is read from (the DAG's folder).
    :param secret: whether a job argument name holds a secret (its values are masked in the diff).
    :param sleep: how to wait (between reads of active runs, between UpdateJob attempts); ``None``: really sleep.
    """

    script_bucket: str | None = None
    script_prefix: str = "airflow-glue-runs/scripts"
    script_root: Path | None = None
    dry_run: bool = False
    purge_tags: bool = False
    on_active_runs: str = "update"
    poll_interval: float = 30.0
    secret: Callable[[str], bool] = lambda name: False
    sleep: Callable[[float], None] | None = None


def local_script(spec: JobSpec, options: ReconcileOptions) -> Path | None:
    """Return the spec's local script file (checked to exist and to have a bucket), or ``None``.

    Raises ``GlueJobRunParameterError`` naming ``command.script`` or ``script_bucket`` before any AWS call.
    """
    from airflow_glue_runs.exceptions import GlueJobRunParameterError

    if spec.command is None or spec.command.script is None or spec.command.script_is_s3:
        return None
    path = Path(spec.command.script)
    if not path.is_absolute() and options.script_root is not None:
        path = options.script_root / path
    if not path.is_file():
        raise GlueJobRunParameterError("command.script", f"no file at {str(path)!r}; give a local file or an s3:// URI")
    if not options.script_bucket:
        raise GlueJobRunParameterError("script_bucket", "a local command.script needs the S3 bucket to upload it to")
    return path


class JobReconciler:
    """One definition step for one job: :meth:`run` it once.

    :param hook: the hook on the task's connection.
    :param spec: the checked spec.
    :param options: the step's settings.
    :param log: the task's logger.
    """

    def __init__(self, hook: GlueJobRunHook, spec: JobSpec, options: ReconcileOptions, log: Any) -> None:
        self.hook = hook
        self.spec = spec
        self.options = options
        self.log = log
        self.name = spec.job_name

    def run(self) -> DefinitionResult:
        """Make the job match the spec (or, on a dry run, say what would change); return what was done."""
        script_location = self._script_location()
        declared = self.spec.declared_fields(script_location)
        current = self.hook.find_job(self.name)
        if current is None:
            created = self._create(declared, script_location)
            if created is not None:
                return created
            current = self.hook.get_job(self.name)
        changes = compare(declared, current, secret=self.options.secret)
        arn, tags_to_add, tags_to_remove, tag_report = self._tag_plan(current)
        if not changes and not tag_report:
            self.log.info("Glue job %s matches its spec: nothing to change.", self.name)
            return DefinitionResult(self.name, "unchanged", (), self.options.dry_run, script_location)
        self._log_changes("update" if not self.options.dry_run else "would update", [*changes, *tag_report])
        if self.options.dry_run:
            return DefinitionResult(self.name, "updated", (*changes, *tag_report), True, script_location)
        active: tuple[str, ...] = ()
        if changes:
            active = self._active_runs_policy()
            self._update(job_update(declared, current))
            self._verify(declared)
        if tags_to_add:
            self.hook.tag_job(self.name, arn, tags_to_add)
        if tags_to_remove:
            self.hook.untag_job(self.name, arn, tags_to_remove)
        return DefinitionResult(self.name, "updated", (*changes, *tag_report), False, script_location, active)

    # -- steps -------------------------------------------------------------------------------------------------

    def _script_location(self) -> str | None:
        command = self.spec.command
        if command is None or command.script is None:
            return None
        path = local_script(self.spec, self.options)
        if path is None:
            if not self.hook.script_exists(self.name, command.script):
                raise GlueJobDefinitionError(self.name, f"the script {command.script} does not exist (command.script)")
            return command.script
        bucket = str(self.options.script_bucket)
        if self.options.dry_run:
            return content_address(path, bucket=bucket, prefix=self.options.script_prefix, job_name=self.name)[0]
        upload = self.hook.upload_script(path, bucket=bucket, prefix=self.options.script_prefix, job_name=self.name)
        if not upload.uploaded:
            self.log.info("Script %s is already at %s (same SHA-256).", path.name, upload.uri)
        return upload.uri

    def _create(self, declared: Mapping[str, Any], script_location: str | None) -> DefinitionResult | None:
        """Create the job; ``None`` when another task created it first (then it is compared like any job)."""
        request = self.spec.create_request(script_location)
        changes = compare(declared, None, secret=self.options.secret)
        _, _, tag_report = tag_changes(self.spec.tags, {}, purge=False)
        self._log_changes("create" if not self.options.dry_run else "would create", [*changes, *tag_report])
        if self.options.dry_run:
            return DefinitionResult(self.name, "created", (*changes, *tag_report), True, script_location)
        try:
            self.hook.create_job(request)
        except GlueAlreadyExistsError:
            self.log.info("Glue job %s was created by someone else meanwhile; comparing with it.", self.name)
            return None
        return DefinitionResult(self.name, "created", (*changes, *tag_report), False, script_location)

    def _tag_plan(self, current: Mapping[str, Any]) -> tuple[str, dict[str, str], list[str], list[FieldChange]]:
        if self.spec.tags is None and not self.options.purge_tags:
            return "", {}, [], []
        arn = self.hook.job_arn(self.name, account=_account_of(self.spec.role) or _account_of(current.get("Role")))
        to_add, to_remove, report = tag_changes(
            self.spec.tags, self.hook.get_job_tags(self.name, arn), purge=self.options.purge_tags
        )
        return arn, to_add, to_remove, report

    def _active_runs_policy(self) -> tuple[str, ...]:
        while active := self._active_runs():
            ids = ", ".join(active)
            if self.options.on_active_runs == "fail":
                raise GlueJobDefinitionError(
                    self.name, f"has active runs ({ids}) and on_active_runs='fail'; the job was not changed"
                )
            if self.options.on_active_runs == "update":
                self.log.warning(
                    "Glue job %s has active runs (%s); updating it anyway (on_active_runs='update'). A run keeps "
                    "the script, arguments and sizes it started with.",
                    self.name,
                    ids,
                )
                return active
            self.log.info("Glue job %s has active runs (%s); waiting for them to end.", self.name, ids)
            self._sleep(self.options.poll_interval)
        return ()

    def _active_runs(self) -> tuple[str, ...]:
        page = self.hook.get_job_runs_page(self.name, max_results=200)
        return tuple(run.id for run in page.runs if run.state is not None and not run.state.is_terminal)

    def _update(self, update: Mapping[str, Any]) -> None:
        for attempt in Retrying(
            retry=retry_if_exception_type(GlueConcurrentModificationError),
            stop=stop_after_attempt(UPDATE_ATTEMPTS),
            wait=wait_exponential(multiplier=1, max=16),
            sleep=self._sleep,
            reraise=True,
        ):
            with attempt:
                self.hook.update_job(self.name, update)

    def _sleep(self, seconds: float) -> None:
        (self.options.sleep or _sleep)(seconds)

    def _verify(self, declared: Mapping[str, Any]) -> None:
        left = compare(declared, self.hook.get_job(self.name), secret=self.options.secret)
        if left:
            lines = "; ".join(change.line() for change in left)
            raise GlueJobDefinitionError(self.name, f"after UpdateJob, Glue does not hold the declared {lines}")

    def _log_changes(self, verb: str, changes: list[FieldChange]) -> None:
        self.log.info("Glue job %s: %s, %d field(s):", self.name, verb, len(changes))
        for change in changes:
            self.log.info("  %s", change.line())


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def _account_of(role: object) -> str | None:
    """The account id of an IAM role ARN (``arn:aws:iam::123456789012:role/x``), else ``None``."""
    if isinstance(role, str) and role.startswith("arn:"):
        parts = role.split(":")
        if len(parts) > 4 and parts[4].isdigit():
            return parts[4]
    return None
