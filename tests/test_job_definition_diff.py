"""The job-definition diff and UpdateJob body: Glue's defaults filled in, only declared fields compared, masking."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_glue_runs._internal.definitions.diff import FieldChange, compare, job_update, same_role, tag_changes
from airflow_glue_runs._internal.definitions.spec import build_job_spec

CURRENT: dict[str, Any] = {
    "Name": "etl",
    "Role": "arn:aws:iam::123456789012:role/service/GlueJobRole",
    "CreatedOn": "2026-01-01T00:00:00Z",
    "LastModifiedOn": "2026-01-02T00:00:00Z",
    "Command": {"Name": "glueetl", "ScriptLocation": "s3://b/etl.py"},
    "DefaultArguments": {"--day": "1", "--db-password": "old-secret-value"},
    "GlueVersion": "4.0",
    "WorkerType": "G.1X",
    "NumberOfWorkers": 2,
    "MaxCapacity": 2.0,
    "Description": "set in the console",
    "ExecutionClass": "STANDARD",
    "CodeGenConfigurationNodes": {"node-1": {"S3CsvSource": {"Name": "x"}}},
}


def never_secret(name: str) -> bool:
    return False


def password_secret(name: str) -> bool:
    return "password" in name


def declared(**values: Any) -> dict[str, Any]:
    return build_job_spec("etl", values).declared_fields()


def test_glue_defaults_are_filled_before_comparing() -> None:
    """Declaring what Glue fills in by itself (timeout, retries, concurrency, python version) is no change."""
    spec = declared(
        timeout=2880,
        max_retries=0,
        max_concurrent_runs=1,
        command={"name": "glueetl", "script": "s3://b/etl.py", "python_version": "3"},
        non_overridable_arguments={},
        job_run_queuing_enabled=False,
    )
    assert compare(spec, CURRENT, secret=never_secret) == []


def test_the_default_timeout_follows_the_glue_version() -> None:
    """A Glue 5.0 job without a Timeout has 480 minutes, so declaring 2880 is a change from 480."""
    changes = compare(declared(timeout=2880), {**CURRENT, "GlueVersion": "5.0"}, secret=never_secret)
    assert changes == [FieldChange("timeout", 480, 2880)]


def test_a_role_name_equals_the_arn_that_ends_with_it() -> None:
    """A role by name matches the job's role ARN (path included) without any IAM call; another name differs."""
    assert same_role("GlueJobRole", CURRENT["Role"])
    assert compare(declared(role="GlueJobRole"), CURRENT, secret=never_secret) == []
    assert compare(declared(role="OtherRole"), CURRENT, secret=never_secret) == [
        FieldChange("role", CURRENT["Role"], "OtherRole")
    ]


def test_max_capacity_of_a_worker_job_is_not_compared() -> None:
    """The MaxCapacity Glue reports for a worker-type job is not a difference when workers are declared."""
    assert compare(declared(worker_type="G.1X", number_of_workers=2), CURRENT, secret=never_secret) == []


def test_secret_argument_values_are_masked_in_the_diff() -> None:
    """A changed secret argument is reported with *** on both sides; other keys show their values."""
    spec = declared(default_arguments={"--day": "2", "--db-password": "new-secret-value"})
    changes = compare(spec, CURRENT, secret=password_secret)
    assert changes == [
        FieldChange("default_arguments['--day']", "1", "2"),
        FieldChange("default_arguments['--db-password']", "***", "***"),
    ]
    assert "secret-value" not in " ".join(change.line() for change in changes)


def test_the_update_carries_every_field_the_spec_does_not_declare() -> None:
    """JobUpdate is the current definition overlaid with the declared fields, without the read-only ones."""
    update = job_update(declared(number_of_workers=5, worker_type="G.1X"), CURRENT)
    assert update["NumberOfWorkers"] == 5
    assert update["Description"] == "set in the console"
    assert update["CodeGenConfigurationNodes"] == CURRENT["CodeGenConfigurationNodes"]
    assert update["DefaultArguments"] == CURRENT["DefaultArguments"]
    assert not {"Name", "CreatedOn", "LastModifiedOn", "MaxCapacity"} & set(update)


def test_a_declared_command_key_merges_into_the_current_command() -> None:
    """Declaring only the script keeps the job's command name and other command keys."""
    update = job_update(declared(command={"script": "s3://b/v2.py"}), {**CURRENT, "Command": {**CURRENT["Command"]}})
    assert update["Command"] == {"Name": "glueetl", "ScriptLocation": "s3://b/v2.py"}


def test_declaring_max_capacity_drops_the_workers_and_says_so() -> None:
    """Moving a worker job to MaxCapacity drops WorkerType and NumberOfWorkers from the update; the diff says so."""
    shell = {**CURRENT, "Command": {"Name": "pythonshell", "ScriptLocation": "s3://b/etl.py"}, "GlueVersion": "3.0"}
    spec = declared(max_capacity=1, command={"name": "pythonshell", "script": "s3://b/etl.py"})
    update = job_update(spec, shell)
    assert update["MaxCapacity"] == 1.0
    assert "WorkerType" not in update
    assert "NumberOfWorkers" not in update
    fields = {change.field for change in compare(spec, shell, secret=never_secret)}
    assert {"worker_type", "number_of_workers"} <= fields


def test_creation_reports_every_declared_field_as_new() -> None:
    """With no job yet, every declared field is a change from unset."""
    changes = compare(declared(glue_version="4.0", max_retries=1), None, secret=never_secret)
    assert changes == [FieldChange("glue_version", None, "4.0"), FieldChange("max_retries", None, 1)]


@pytest.mark.parametrize(
    ("purge", "to_remove"),
    [(False, []), (True, ["old"])],
)
def test_tags_are_removed_only_when_purging_and_never_aws_ones(purge: bool, to_remove: list[str]) -> None:
    """Listed tags are added or changed; others are removed only with purge, and aws: tags never."""
    current = {"team": "data", "old": "x", "aws:cloudformation:stack-name": "s"}
    to_add, removed, changes = tag_changes({"team": "ml", "new": "y"}, current, purge=purge)
    assert to_add == {"team": "ml", "new": "y"}
    assert removed == to_remove
    assert FieldChange("tags['team']", "data", "ml") in changes
    assert len(changes) == 2 + len(to_remove)


def test_a_change_line_reads_field_old_new() -> None:
    """The log line of a change is `field: old -> new`, with (unset) for a missing value."""
    assert FieldChange("number_of_workers", 2, 5).line() == "number_of_workers: 2 -> 5"
    assert FieldChange("tags['team']", None, "data").line() == "tags['team']: (unset) -> \"data\""


def test_a_command_without_a_name_keeps_the_jobs_command_and_creates_glueetl() -> None:
    """A command mapping without a name declares no name: an update keeps the job's (here pythonshell), and a new
    job is created as glueetl, Glue's default."""
    shell = {**CURRENT, "Command": {"Name": "pythonshell", "ScriptLocation": "s3://b/etl.py"}}
    spec = build_job_spec("etl", {"command": {"script": "s3://b/v2.py"}, "role": "GlueJobRole"})
    assert job_update(spec.declared_fields(), shell)["Command"]["Name"] == "pythonshell"
    assert compare(spec.declared_fields(), shell, secret=never_secret) == [
        FieldChange("command.script", "s3://b/etl.py", "s3://b/v2.py")
    ]
    assert spec.create_request()["Command"] == {"Name": "glueetl", "ScriptLocation": "s3://b/v2.py"}
