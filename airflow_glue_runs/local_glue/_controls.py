"""The local Glue's control methods, shared by ``LocalGlue`` (in process) and ``LocalGlueControl`` (over HTTP).

Each method sends one control call (``_control``) that ``_service`` answers; the subclasses say how it travels.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_glue_runs.local_glue._events import EVENT_PATTERN

if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_glue import GlueClient


_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


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
        unless their arguments hold a ``--local-glue-*`` plan (docs: testing-dags.md).

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
        from botocore.config import Config
        from botocore.exceptions import ClientError

        s3 = self._aws_client("s3", Config(s3={"addressing_style": "path"}))
        try:
            s3.head_bucket(Bucket=bucket)
        except ClientError:
            s3.create_bucket(Bucket=bucket)
        body = script.read_bytes() if isinstance(script, Path) else script.encode()
        s3.put_object(Bucket=bucket, Key=key, Body=body)
        return f"s3://{bucket}/{key}"

    def create_event_queue(self, name: str = "glue-events") -> str:
        """Create an SQS queue that receives every "Glue Job State Change" event; return its URL.

        Also an EventBridge rule of the same name on the default bus, with the pattern ``{"source": ["aws.glue"],
        "detail-type": ["Glue Job State Change"]}`` and the queue as its target, and a queue policy that lets
        EventBridge (that rule only) send to it, as on AWS. Each queue has its own rule, so every queue made this
        way receives every event: one per triggerer. Calling it again with the same name changes nothing.
        :meth:`reset` deletes the queues and rules.

        :param name: the queue's and the rule's name: 1 to 64 letters, digits, ``-`` or ``_``.
        """
        if not isinstance(name, str) or not _QUEUE_NAME.fullmatch(name):
            raise ValueError(f"name must be 1 to 64 letters, digits, '-' or '_'; got {name!r}")
        sqs, events = self._aws_client("sqs"), self._aws_client("events")
        queue_url: str = sqs.create_queue(QueueName=name)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        rule_arn = events.put_rule(Name=name, EventPattern=json.dumps(EVENT_PATTERN), State="ENABLED")["RuleArn"]
        statement = {
            "Sid": "GlueJobStateChangeEvents",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
        }
        policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": policy})
        events.put_targets(Rule=name, Targets=[{"Id": "sqs", "Arn": queue_arn}])
        return queue_url

    def set_event_faults(
        self,
        *,
        drop_next: int = 0,
        drop_rate: float = 0.0,
        duplicate_next: int = 0,
        duplicate_rate: float = 0.0,
        delay_seconds: float = 0.0,
        jitter_seconds: float = 0.0,
        job_name: str | None = None,
        seed: int = 0,
    ) -> None:
        """Make the next "Glue Job State Change" events unreliable, as AWS may; replaces the previous switches.

        Without arguments every switch is off (every event is sent once, at the run's end). Drops come first,
        then duplicates, then the delay; :meth:`event_counts` counts what happened.

        :param drop_next: drop the next N events.
        :param drop_rate: then drop each event with this probability, 0.0 to 1.0 (1.0: send none).
        :param duplicate_next: send the next N events (that were not dropped) twice.
        :param duplicate_rate: then send each event twice with this probability, 0.0 to 1.0.
        :param delay_seconds: send every event this many seconds after the run's end (the local Glue's clock).
        :param jitter_seconds: add a random delay of 0 up to this many seconds to each copy, so the events of
            runs that end close together may arrive out of order.
        :param job_name: apply the switches to this job's events only (None: every job's).
        :param seed: the seed of the random draws (rates and jitter), so a test sees the same faults each time.
        """
        self._control(
            "set_event_faults",
            drop_next=drop_next,
            drop_rate=drop_rate,
            duplicate_next=duplicate_next,
            duplicate_rate=duplicate_rate,
            delay_seconds=delay_seconds,
            jitter_seconds=jitter_seconds,
            job_name=job_name,
            seed=seed,
        )

    def event_counts(self) -> dict[str, int]:
        """Return what became of the "Glue Job State Change" events since the last counter reset.

        ``emitted``: copies put on the EventBridge bus (a duplicate counts twice); ``dropped``, ``duplicated``
        (extra copies) and ``delayed`` (copies held back) by :meth:`set_event_faults`; ``failed``: puts moto's
        EventBridge refused (e.g. a rule with an SNS target, which moto cannot deliver to).
        """
        return {str(k): int(v) for k, v in self._control("event_counts").items()}

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

        Glue, CloudWatch Logs, SQS and EventBridge operations by name, S3 ones by S3's operation name
        (``PutObject``, ``HeadObject``... or ``S3:<METHOD>`` when it cannot tell), STS and IAM ones by their
        ``Action``.
        """
        return dict(self._control("calls"))

    def connections(self) -> int:
        """Return how many distinct client TCP connections carried Glue requests since the last counter reset."""
        return int(self._control("connections"))

    def reset_counters(self) -> None:
        """Zero the call, connection and event counters."""
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
        """Forget all jobs, runs, S3 buckets, IAM entities, SQS queues, EventBridge rules, faults and counters."""
        self._control("reset")

    def _aws_client(self, service: str, config: Config | None = None) -> Any:
        """Return a boto3 client of ``service`` for this endpoint and region, with dummy credentials."""
        import boto3

        glue = self.client()
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=glue.meta.endpoint_url,
            region_name=glue.meta.region_name,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=config,
        )
