"""GlueJobDefinitionOperator against the local Glue: create, no-op, update of declared fields only, scripts, tags.

Every test counts the calls the local Glue answered (Glue, S3 and STS), so "no write" means no CreateJob, UpdateJob,
PutObject, TagResource or UntagResource reached it.
"""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from operator_fakes import FakeTI
from support import aws_client
from support import job_writes as writes
from support import s3_client as s3

from airflow_glue_runs.exceptions import GlueJobDefinitionError, GlueJobRunParameterError
from airflow_glue_runs.hooks import GlueJobRunHook
from airflow_glue_runs.local_glue import LocalGlue
from airflow_glue_runs.operators import GlueJobDefinitionOperator

JOB = "defined"
_buckets = itertools.count()


@pytest.fixture
def bucket(glue: LocalGlue) -> str:
    """A new, empty S3 bucket in the local Glue (S3 outlives the per-test reset, so each test takes its own)."""
    name = f"scripts-{next(_buckets)}-{id(glue) % 1000}"
    s3(glue).create_bucket(Bucket=name)
    glue.reset_counters()
    return name


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "etl.py"
    path.write_text("print('version 1')\n")
    return path


def operator(script: Path, bucket: str, **spec: Any) -> GlueJobDefinitionOperator:
    values: dict[str, Any] = {
        "role": "GlueJobRole",
        "command": {"name": "glueetl", "script": str(script)},
        "glue_version": "4.0",
        "worker_type": "G.1X",
        "number_of_workers": 2,
        "default_arguments": {"--day": "2026-01-01"},
        "tags": {"team": "data"},
        **spec,
    }
    return GlueJobDefinitionOperator(task_id="define", job_name=JOB, script_bucket=bucket, **values)


def define(op: GlueJobDefinitionOperator, ti: FakeTI | None = None) -> dict[str, Any]:
    op.render_template_fields({})  # type: ignore[arg-type]
    result: dict[str, Any] = op.execute({"ti": ti or FakeTI()})  # type: ignore[typeddict-item]
    return result


def test_creates_the_job_from_a_local_script(glue: LocalGlue, bucket: str, script: Path) -> None:
    """A missing job is created with its tags; the script goes to a content-addressed key, uploaded once."""
    ti = FakeTI()
    result = define(operator(script, bucket), ti)
    assert result["action"] == "created"
    assert ti.xcom("glue_job_link") == {"region_name": glue.region_name, "job_name": JOB}
    job = glue.client().get_job(JobName=JOB)["Job"]
    location = job["Command"]["ScriptLocation"]
    assert location == result["script_location"]
    assert location.startswith(f"s3://{bucket}/airflow-glue-runs/scripts/{JOB}/")
    assert location.endswith("/etl.py")
    key = location.removeprefix(f"s3://{bucket}/")
    assert s3(glue).get_object(Bucket=bucket, Key=key)["Body"].read() == script.read_bytes()
    assert job["Role"] == "GlueJobRole"
    assert job["WorkerType"] == "G.1X"
    assert job["NumberOfWorkers"] == 2
    assert writes(glue) == {"CreateJob": 1, "PutObject": 1}
    arn = f"arn:aws:glue:{glue.region_name}:{sts_account(glue)}:job/{JOB}"
    assert glue.client().get_tags(ResourceArn=arn)["Tags"] == {"team": "data"}
    assert {change["field"] for change in result["changes"]} >= {"worker_type", "tags['team']"}


def sts_account(glue: LocalGlue) -> str:
    return str(aws_client(glue, "sts").get_caller_identity()["Account"])


def test_the_same_spec_again_writes_nothing(glue: LocalGlue, bucket: str, script: Path) -> None:
    """Defining an unchanged job again makes no write call at all: no CreateJob, UpdateJob, PutObject or tag call."""
    define(operator(script, bucket))
    glue.reset_counters()
    result = define(operator(script, bucket))
    assert result["action"] == "unchanged"
    assert result["changes"] == []
    assert writes(glue) == {}
    assert glue.calls().get("GetJob") == 1


def test_one_changed_field_updates_only_it(glue: LocalGlue, bucket: str, script: Path) -> None:
    """One changed field is one UpdateJob; a field set outside the spec (the console's description) survives."""
    define(operator(script, bucket))
    current = glue.client().get_job(JobName=JOB)["Job"]
    update = {k: current[k] for k in ("Role", "Command", "GlueVersion", "WorkerType", "NumberOfWorkers")}
    glue.client().update_job(
        JobName=JOB, JobUpdate={**update, "Description": "set in the console", "DefaultArguments": {"--day": "x"}}
    )
    glue.reset_counters()
    result = define(operator(script, bucket, number_of_workers=5, default_arguments={"--day": "x"}))
    assert result["action"] == "updated"
    assert [change["field"] for change in result["changes"]] == ["number_of_workers"]
    assert result["changes"][0]["old"] == 2
    assert result["changes"][0]["new"] == 5
    assert writes(glue) == {"UpdateJob": 1}
    job = glue.client().get_job(JobName=JOB)["Job"]
    assert job["NumberOfWorkers"] == 5
    assert job["Description"] == "set in the console"


def test_a_changed_script_gets_a_new_key_and_one_update(glue: LocalGlue, bucket: str, script: Path) -> None:
    """New script content goes to a new key (the old object stays) and moves ScriptLocation in one UpdateJob."""
    first = define(operator(script, bucket))["script_location"]
    script.write_text("print('version 2')\n")
    glue.reset_counters()
    result = define(operator(script, bucket))
    assert result["script_location"] != first
    assert [change["field"] for change in result["changes"]] == ["command.script"]
    assert writes(glue) == {"PutObject": 1, "UpdateJob": 1}
    assert glue.client().get_job(JobName=JOB)["Job"]["Command"]["ScriptLocation"] == result["script_location"]
    s3(glue).head_object(Bucket=bucket, Key=first.removeprefix(f"s3://{bucket}/"))


def test_dry_run_writes_nothing(glue: LocalGlue, bucket: str, script: Path) -> None:
    """dry_run reports the creation, then an update, and writes nothing: no upload, job or tag call."""
    result = define(operator(script, bucket, dry_run=True))
    assert result["action"] == "created"
    assert result["dry_run"] is True
    assert result["changes"]
    assert writes(glue) == {}
    assert glue.client().get_jobs()["Jobs"] == []
    define(operator(script, bucket))
    glue.reset_counters()
    result = define(operator(script, bucket, dry_run=True, number_of_workers=9, tags={"team": "ml"}))
    assert result["action"] == "updated"
    assert result["dry_run"] is True
    assert {change["field"] for change in result["changes"]} == {"number_of_workers", "tags['team']"}
    assert writes(glue) == {}


def test_two_tasks_defining_the_same_new_job_both_succeed(glue: LocalGlue, bucket: str, script: Path) -> None:
    """Two tasks that both find the job missing: one creates it, the other's AlreadyExists is read and compared."""
    barrier = threading.Barrier(2, timeout=30)

    class RacingHook(GlueJobRunHook):
        def find_job(self, job_name: str) -> dict[str, Any] | None:
            found = super().find_job(job_name)
            barrier.wait()  # both tasks have read "no job" before either creates it
            return found

    results: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def task() -> None:
        op = operator(script, bucket)
        op.__dict__["hook"] = RacingHook(aws_conn_id="aws_default")
        try:
            results.append(define(op))
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=task) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(result["action"] for result in results) == ["created", "unchanged"]
    assert [job["Name"] for job in glue.client().get_jobs()["Jobs"]] == [JOB]
    assert glue.calls()["CreateJob"] == 2
    assert writes(glue).get("PutObject", 0) <= 2


@pytest.mark.parametrize(
    ("spec", "parameter"),
    [
        ({"max_capacity": 10}, "max_capacity"),
        ({"worker_type": "G.9X"}, "worker_type"),
        (
            {
                "command": {"name": "pythonshell", "script": "s3://b/k.py"},
                "max_capacity": 2,
                "worker_type": None,
                "number_of_workers": None,
            },
            "max_capacity",
        ),
        ({"command": {"name": "sparkle", "script": "s3://b/k.py"}}, "command.name"),
        ({"tags": {"aws:owner": "me"}}, "tags"),
        ({"command": {"name": "glueetl", "script": "missing.py"}}, "command.script"),
    ],
)
def test_impossible_specs_fail_before_any_call(
    glue: LocalGlue, bucket: str, script: Path, spec: dict[str, Any], parameter: str
) -> None:
    """A spec Glue would refuse fails with an error naming the field, and the local Glue saw no call at all."""
    with pytest.raises(GlueJobRunParameterError, match=f"Invalid {parameter}"):
        define(operator(script, bucket, **spec))
    assert glue.calls() == {}


def test_a_secret_default_argument_is_masked_in_the_diff_log_and_xcom(
    glue: LocalGlue, bucket: str, script: Path, logs: list[dict[str, Any]]
) -> None:
    """A secret default argument is sent to Glue but is *** in the diff, the task log (before Airflow's own masker)
    and the return value."""
    from airflow_versions import log_messages

    secret = "s3cr3t-hunter2-value"
    op = operator(script, bucket, default_arguments={"--db-password": secret, "--token-of-api": "other-secret-99"})
    result = define(op)
    assert glue.client().get_job(JobName=JOB)["Job"]["DefaultArguments"]["--db-password"] == secret
    messages = log_messages(logs)
    text = json.dumps(result) + "\n".join(messages) + json.dumps(op.default_arguments)
    assert secret not in text
    assert "other-secret-99" not in text
    assert {"field": "default_arguments['--db-password']", "old": None, "new": "***"} in result["changes"]
    assert "  default_arguments['--db-password']: (unset) -> \"***\"" in messages


def test_tags_are_added_and_changed_but_removed_only_when_asked(glue: LocalGlue, bucket: str, script: Path) -> None:
    """Tags the spec does not list stay; with purge_tags they go; the listed ones are added or changed."""
    define(operator(script, bucket))
    arn = f"arn:aws:glue:{glue.region_name}:{sts_account(glue)}:job/{JOB}"
    glue.client().tag_resource(ResourceArn=arn, TagsToAdd={"cost-center": "42"})
    glue.reset_counters()
    define(operator(script, bucket, tags={"team": "ml"}))
    assert glue.client().get_tags(ResourceArn=arn)["Tags"] == {"team": "ml", "cost-center": "42"}
    assert writes(glue) == {"TagResource": 1}
    result = define(operator(script, bucket, tags={"team": "ml"}, purge_tags=True))
    assert glue.client().get_tags(ResourceArn=arn)["Tags"] == {"team": "ml"}
    assert result["changes"] == [{"field": "tags['cost-center']", "old": "42", "new": None}]


def test_a_role_arn_matches_the_same_role_by_name(glue: LocalGlue, bucket: str, script: Path) -> None:
    """A job created with the role's ARN is unchanged for a spec naming the role: no IAM call, no update."""
    # The role lives in the job's account (Glue passes no role of another account); the tag ARN takes that account.
    define(operator(script, bucket, role=f"arn:aws:iam::{sts_account(glue)}:role/GlueJobRole"))
    glue.reset_counters()
    assert define(operator(script, bucket, role="GlueJobRole"))["action"] == "unchanged"
    assert writes(glue) == {}


def test_active_runs_fail_the_update_when_the_policy_says_so(glue: LocalGlue, bucket: str, script: Path) -> None:
    """on_active_runs='fail' refuses to update a job with a running run, and names the run."""
    define(operator(script, bucket, default_arguments={"--local-glue-duration": "600"}))
    run_id = glue.client().start_job_run(JobName=JOB)["JobRunId"]
    glue.reset_counters()
    with pytest.raises(GlueJobDefinitionError, match=run_id):
        define(operator(script, bucket, number_of_workers=3, on_active_runs="fail"))
    assert writes(glue) == {}


def test_active_runs_are_waited_for(
    glue: LocalGlue, bucket: str, script: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """on_active_runs='wait' reads the runs again after each wait and updates once none is active."""
    define(operator(script, bucket, default_arguments={"--local-glue-duration": "600"}))
    run_id = glue.client().start_job_run(JobName=JOB)["JobRunId"]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        glue.set_run_state(JOB, run_id, "SUCCEEDED")

    monkeypatch.setattr("airflow_glue_runs._internal.definitions.reconcile._sleep", sleep)
    op = operator(script, bucket, number_of_workers=3, on_active_runs="wait", poll_interval=7)
    result = define(op)
    assert waits == [7.0]
    assert result["action"] == "updated"
    assert result["active_runs"] == []


def test_a_concurrent_modification_is_retried(
    glue: LocalGlue, bucket: str, script: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """UpdateJob refused with ConcurrentModificationException is sent again after a backoff, and lands."""
    define(operator(script, bucket))
    glue.inject_fault("UpdateJob", "ConcurrentModificationException")
    glue.reset_counters()
    waits: list[float] = []
    monkeypatch.setattr("airflow_glue_runs._internal.definitions.reconcile._sleep", waits.append)
    define(operator(script, bucket, number_of_workers=4))
    assert glue.calls()["UpdateJob"] == 2
    assert len(waits) == 1
    assert glue.client().get_job(JobName=JOB)["Job"]["NumberOfWorkers"] == 4


def test_a_missing_s3_script_fails_before_the_job_is_written(glue: LocalGlue, bucket: str, script: Path) -> None:
    """An s3:// script that does not exist fails the task before CreateJob, naming the script."""
    missing = f"s3://{bucket}/nowhere/etl.py"
    with pytest.raises(GlueJobDefinitionError, match=r"nowhere/etl\.py"):
        define(operator(script, bucket, command={"name": "glueetl", "script": missing}))
    assert writes(glue) == {}


def test_an_update_glue_did_not_take_fails_the_task(glue: LocalGlue, bucket: str, script: Path) -> None:
    """When the job read back after UpdateJob does not hold a declared field, the task fails naming the field."""

    class IgnoredUpdateHook(GlueJobRunHook):
        def update_job(self, job_name: str, job_update: Any) -> None:
            super().update_job(job_name, {**job_update, "NumberOfWorkers": 2})  # as if Glue kept the old size

    define(operator(script, bucket))
    op = operator(script, bucket, number_of_workers=6)
    op.__dict__["hook"] = IgnoredUpdateHook(aws_conn_id="aws_default")
    with pytest.raises(GlueJobDefinitionError, match="number_of_workers: 2 -> 6"):
        define(op)
