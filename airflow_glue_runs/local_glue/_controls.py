"""The local Glue's control methods, shared by ``LocalGlue`` (in process) and ``LocalGlueControl`` (over HTTP).

Each method sends one control call (``_control``) that ``_service`` answers; the subclasses say how it travels.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_glue import GlueClient


class _Controls:
    """The control methods, shared by :class:`LocalGlue` (in process) and :class:`LocalGlueControl` (HTTP)."""

    def _control(self, method: str, **arguments: Any) -> Any:
        raise NotImplementedError

    def client(self, *, config: Config | None = None) -> GlueClient:
        """Return a boto3 Glue client for this endpoint, with dummy credentials."""
        raise NotImplementedError

    def create_job(
        self,
        name: str,
        *,
        max_concurrent_runs: int = 1,
        default_arguments: dict[str, str] | None = None,
        timeout: int | None = None,
        glue_version: str | None = None,
        worker_type: str | None = "G.1X",
        number_of_workers: int | None = 2,
        non_overridable_arguments: dict[str, str] | None = None,
        command: str = "glueetl",
        script_location: str | None = None,
    ) -> None:
        """Create a Glue job in the local Glue's region, replacing a job of that name with its runs and tags.

        Glue's own CreateJob raises AlreadyExistsException for an existing name; this control call does not.
        Glue's defaults are filled in as for CreateJob (e.g. ``MaxCapacity`` 2.0 for 2 G.1X workers). A
        ``pythonshell`` job has no workers (``worker_type`` and ``number_of_workers`` are ignored): it gets
        ``MaxCapacity`` 0.0625 and GlueVersion 3.0 unless given, and its runs execute ``script_location`` for real
        unless their arguments hold a ``--local-glue-*`` plan (README: "Running your Python shell job locally").

        :param name: the job name.
        :param max_concurrent_runs: ``ExecutionProperty.MaxConcurrentRuns``.
        :param default_arguments: the job's DefaultArguments, where ``--local-glue-*`` plans usually go.
        :param timeout: the job's Timeout in minutes (None: Glue's default).
        :param glue_version: the job's GlueVersion (None: 4.0, or 3.0 for a pythonshell job).
        :param worker_type: the job's WorkerType (None for a job without one: ``number_of_workers`` is ignored).
        :param number_of_workers: the job's NumberOfWorkers.
        :param non_overridable_arguments: the job's NonOverridableArguments (run arguments cannot change them).
        :param command: the job's ``Command.Name``: ``glueetl``, ``gluestreaming`` or ``pythonshell``.
        :param script_location: the job's ``Command.ScriptLocation`` (None: ``s3://local-glue/{name}.py``), e.g.
            what :meth:`upload_script` returns, or ``file:///path/to/script.py``.
        """
        self._control(
            "create_job",
            name=name,
            max_concurrent_runs=max_concurrent_runs,
            default_arguments=default_arguments,
            timeout=timeout,
            glue_version=glue_version,
            worker_type=worker_type,
            number_of_workers=number_of_workers,
            non_overridable_arguments=non_overridable_arguments,
            command=command,
            script_location=script_location,
        )

    def upload_script(self, bucket: str, key: str, script: str | Path) -> str:
        """Put a job script into the local Glue's S3, creating the bucket if needed; return its ``s3://`` URI.

        :param bucket: the bucket (created in the local Glue's account if it does not exist).
        :param key: the object key, e.g. ``scripts/nightly.py``.
        :param script: a :class:`~pathlib.Path` to read, or the script's text.
        """
        import boto3
        from botocore.config import Config
        from botocore.exceptions import ClientError

        glue = self.client()
        s3 = boto3.client(
            "s3",
            endpoint_url=glue.meta.endpoint_url,
            region_name=glue.meta.region_name,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(s3={"addressing_style": "path"}),
        )
        try:
            s3.head_bucket(Bucket=bucket)
        except ClientError:
            s3.create_bucket(Bucket=bucket)
        body = script.read_bytes() if isinstance(script, Path) else script.encode()
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        return f"s3://{bucket}/{key}"

    def inject_fault(self, operation: str, fault: str, *, times: int = 1, message: str | None = None) -> None:
        """Make the next ``times`` calls of ``operation`` fail with ``fault``, before they reach the local Glue.

        :param operation: a Glue operation name such as ``"GetJobRun"``, or ``"*"`` for any Glue operation.
        :param fault: ``throttle``, ``server_error``, ``unavailable``, ``drop`` (the connection closes before
            Glue acts), ``drop_response`` (Glue acts, then the connection closes before the answer is sent) or
            a Glue error code.
        :param times: how many calls fail.
        :param message: the error message (default: one that says the fault was injected).
        """
        self._control("inject_fault", operation=operation, fault=fault, times=times, message=message)

    def calls(self) -> dict[str, int]:
        """Return how many requests each operation received since the last counter reset.

        Glue and CloudWatch Logs operations by name, S3 ones by S3's operation name (``PutObject``,
        ``HeadObject``... or ``S3:<METHOD>`` when it cannot tell), STS and IAM ones by their ``Action``.
        """
        return dict(self._control("calls"))

    def connections(self) -> int:
        """Return how many distinct client TCP connections carried Glue requests since the last counter reset."""
        return int(self._control("connections"))

    def reset_counters(self) -> None:
        """Zero the call and connection counters."""
        self._control("reset_counters")

    def first_reads(self, job_name: str) -> dict[str, float]:
        """Return, per run id of ``job_name``, the clock time at which a client first read the run."""
        return {str(k): float(v) for k, v in self._control("first_reads", job_name=job_name).items()}

    def set_run_state(self, job_name: str, run_id: str, state: str, *, error_message: str | None = None) -> None:
        """Force a run into ``state`` now, e.g. to end it; STOPPING moves on to STOPPED after its stop time.

        :param job_name: the run's job.
        :param run_id: the run id.
        :param state: one of the ten JobRunState values.
        :param error_message: the ErrorMessage once the run is final (default: one per failure state).
        """
        self._control("set_run_state", job_name=job_name, run_id=run_id, state=state, error_message=error_message)

    def run_count(self, job_name: str) -> int:
        """Return how many runs a job has; raise LookupError if there is no such job.

        :param job_name: the job.
        """
        return int(self._control("run_count", job_name=job_name))

    def reset(self) -> None:
        """Forget all jobs, runs, S3 buckets, IAM entities, pending faults and counters."""
        self._control("reset")
