"""The job spec: rendered values read and checked, impossible combinations refused, CreateJob/JobUpdate shapes."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest

from airflow_glue_runs._internal.definitions import spec_checks, spec_rules
from airflow_glue_runs._internal.definitions.spec import (
    API_FIELD_NAMES,
    COMMAND_NAMES,
    SPEC_FIELDS,
    CommandSpec,
    JobSpec,
    build_job_spec,
)
from airflow_glue_runs.exceptions import GlueJobRunParameterError

SCRIPT = "s3://bucket/scripts/etl.py"


def spec(**values: Any) -> JobSpec:
    return build_job_spec("job", values)


def refused(parameter: str, match: str, **values: Any) -> None:
    with pytest.raises(GlueJobRunParameterError, match=match) as info:
        spec(**values)
    assert info.value.parameter == parameter


def test_spec_fields_are_the_operator_parameters_in_order() -> None:
    """SPEC_FIELDS lists the twenty spec parameters in the agreed order, and JobSpec has a field for each."""
    assert SPEC_FIELDS[:3] == ("role", "command", "glue_version")
    assert SPEC_FIELDS[-2:] == ("tags", "extra_job_fields")
    assert len(SPEC_FIELDS) == 20
    assert [field.name for field in JobSpec.__dataclass_fields__.values()] == ["job_name", *SPEC_FIELDS]


def test_nothing_declared_gives_an_empty_definition() -> None:
    """Missing and None parameters are not declared: no field appears in the definition."""
    job = build_job_spec("job", {"role": None, "timeout": None})
    assert job == JobSpec(job_name="job")
    assert job.declared_fields() == {}


def test_unknown_spec_parameter_is_refused() -> None:
    """A parameter name that is not in SPEC_FIELDS is refused, not ignored."""
    with pytest.raises(GlueJobRunParameterError, match=r"unknown parameter.*workers"):
        build_job_spec("job", {"workers": 2})


def test_bad_job_name_is_refused() -> None:
    """The job name is checked as a Glue name."""
    with pytest.raises(GlueJobRunParameterError, match="Invalid job_name"):
        build_job_spec("", {})


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"number_of_workers": "10", "worker_type": "G.1X"}, {"number_of_workers": 10}),
        ({"timeout": " 60 "}, {"timeout": 60}),
        ({"max_retries": "0"}, {"max_retries": 0}),
        ({"max_concurrent_runs": "3"}, {"max_concurrent_runs": 3}),
        ({"notify_delay_after": "5"}, {"notify_delay_after": 5}),
        ({"max_capacity": "0.0625", "command": {"name": "pythonshell"}}, {"max_capacity": 0.0625}),
        ({"max_capacity": "10"}, {"max_capacity": 10.0}),
        ({"job_run_queuing_enabled": "TRUE"}, {"job_run_queuing_enabled": True}),
        ({"job_run_queuing_enabled": "false"}, {"job_run_queuing_enabled": False}),
        ({"glue_version": "4.0"}, {"glue_version": "4.0"}),
        ({"glue_version": 4.0}, {"glue_version": "4.0"}),
        ({"glue_version": 5}, {"glue_version": "5.0"}),
        ({"glue_version": 0.9}, {"glue_version": "0.9"}),
    ],
)
def test_rendered_text_and_native_values_are_read(values: dict[str, Any], expected: dict[str, Any]) -> None:
    """Text from Jinja becomes numbers and booleans; a Glue version stays text, or becomes text under native render."""
    job = spec(**values)
    assert {name: getattr(job, name) for name in expected} == expected


@pytest.mark.parametrize(
    ("values", "parameter", "match"),
    [
        ({"timeout": "ten"}, "timeout", "expected an integer, got str"),
        ({"timeout": 10080}, "timeout", "allowed: 1 to 10079"),
        ({"timeout": 0}, "timeout", "allowed: 1 to"),
        ({"max_retries": -1}, "max_retries", "allowed: 0 to"),
        ({"max_concurrent_runs": 0}, "max_concurrent_runs", "allowed: 1 to"),
        ({"notify_delay_after": 0}, "notify_delay_after", "allowed: 1 to"),
        ({"number_of_workers": 0, "worker_type": "G.1X"}, "number_of_workers", "allowed: 1 to"),
        ({"number_of_workers": True, "worker_type": "G.1X"}, "number_of_workers", "expected an integer, got bool"),
        ({"max_capacity": "lots"}, "max_capacity", "expected a number of DPUs, got str"),
        ({"max_capacity": 2.5}, "max_capacity", "not allowed"),
        ({"job_run_queuing_enabled": "yes"}, "job_run_queuing_enabled", "expected True or False"),
        ({"glue_version": "4"}, "glue_version", "not a Glue version"),
        ({"glue_version": True}, "glue_version", "expected version text.*got bool"),
        ({"glue_version": float("inf")}, "glue_version", "not a Glue version"),
        ({"worker_type": "G.3X", "number_of_workers": 2}, "worker_type", "not one of Standard, G.1X"),
        ({"execution_class": "flex"}, "execution_class", "not one of FLEX, STANDARD"),
        ({"security_configuration": 3}, "security_configuration", "expected a string, got int"),
        ({"role": ""}, "role", "neither an IAM role name"),
        ({"role": 42}, "role", "expected an IAM role name or ARN, got int"),
        ({"role": "arn:aws:iam::12345:role/x"}, "role", "neither"),
        ({"role": "my role"}, "role", "neither"),
        ({"description": "x" * 2049}, "description", "allowed: at most 2048"),
        ({"description": "a\x00b"}, "description", "control character"),
        ({"description": ["x"]}, "description", "expected text, got list"),
        ({"maintenance_window": "Monday:10"}, "maintenance_window", "not Day:Hour"),
        ({"maintenance_window": "Mon:24"}, "maintenance_window", "not Day:Hour"),
        ({"maintenance_window": 10}, "maintenance_window", "got int"),
        ({"default_arguments": ["--a"]}, "default_arguments", "expected a dict, JSON text"),
        ({"default_arguments": {"--a": None}}, "default_arguments", "argument '--a' is None"),
        ({"non_overridable_arguments": "{bad"}, "non_overridable_arguments", "invalid JSON"),
        ({"connections": 3}, "connections", "expected a list of connection names, got int"),
        ({"connections": ["a", "a"]}, "connections", "'a' listed more than once"),
        ({"connections": ["a", ""]}, "connections", "allowed are 1 to 255"),
        ({"connections": "[bad"}, "connections", "invalid JSON"),
    ],
)
def test_values_of_the_wrong_type_or_range_are_refused(values: dict[str, Any], parameter: str, match: str) -> None:
    """Each bad value is refused with the parameter named and what is allowed."""
    refused(parameter, match, **values)


@pytest.mark.parametrize(
    "role",
    [
        "GlueRole",
        "service-role_x+=,.@",
        "arn:aws:iam::123456789012:role/GlueRole",
        "arn:aws-cn:iam::123456789012:role/path/to/R",
    ],
)
def test_role_names_and_arns_are_sent_as_declared(role: str) -> None:
    """A role name or ARN (any partition, with a path) is kept as written; no IAM call resolves it."""
    assert spec(role=role).declared_fields() == {"Role": role}


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ({"script": SCRIPT}, CommandSpec(None, SCRIPT, None, None)),
        (
            {"Name": "pythonshell", "ScriptLocation": SCRIPT, "PythonVersion": "3.9"},
            CommandSpec("pythonshell", SCRIPT, "3.9", None),
        ),
        ({"name": "glueetl", "python_version": 3}, CommandSpec("glueetl", None, "3", None)),
        ({"name": "pythonshell", "python_version": 3.9}, CommandSpec("pythonshell", None, "3.9", None)),
        ('{"name": "gluestreaming", "script": "etl.py"}', CommandSpec("gluestreaming", "etl.py", None, None)),
    ],
)
def test_command_mapping_aliases_and_json(command: object, expected: CommandSpec) -> None:
    """The command takes snake_case keys, the API's PascalCase keys, or JSON text; versions become text; a name
    left out is not declared."""
    assert spec(command=command).command == expected


@pytest.mark.parametrize(
    ("command", "parameter", "match"),
    [
        ({"name": "spark"}, "command.name", "'spark' is not one of glueetl, pythonshell, gluestreaming, glueray"),
        ({"script": SCRIPT, "language": "scala"}, "command", "unknown key 'language'; allowed: name, script"),
        ({"script": SCRIPT, "ScriptLocation": SCRIPT}, "command", "script is given twice"),
        ({"script": ""}, "command.script", "allowed are 1 to"),
        ({"script": "s3://bucket"}, "command.script", "not an S3 URI"),
        ({"python_version": "3.11"}, "command.python_version", "allowed: 2, 3, 3.9"),
        ({"python_version": [3]}, "command.python_version", "got list"),
        ({"runtime": 2.4}, "command.runtime", "expected text, got float"),
        ("s3://bucket/etl.py", "command", "expected a mapping"),
        ('{"name": ', "command", "invalid JSON"),
    ],
)
def test_bad_commands_are_refused(command: object, parameter: str, match: str) -> None:
    """A bad command is refused naming the command key at fault and what is allowed."""
    refused(parameter, match, command=command)


def test_script_is_s3() -> None:
    """script_is_s3 tells an S3 URI from a local path (which the operator uploads)."""
    assert CommandSpec("glueetl", SCRIPT, None, None).script_is_s3
    assert not CommandSpec("glueetl", "dags/etl.py", None, None).script_is_s3
    assert not CommandSpec("glueetl", None, None, None).script_is_s3


def test_arguments_are_read_like_run_arguments() -> None:
    """Default arguments take a dict, JSON or CLI shorthand; values become text; an empty mapping is declared."""
    assert spec(default_arguments={"--on": True, "--n": 2}).default_arguments == {"--on": "true", "--n": "2"}
    assert spec(default_arguments='{"--a": 1}').default_arguments == {"--a": "1"}
    assert spec(non_overridable_arguments="--a=x,--b=y").non_overridable_arguments == {"--a": "x", "--b": "y"}
    assert spec(default_arguments={}).declared_fields() == {"DefaultArguments": {}}


@pytest.mark.parametrize(
    ("connections", "expected"),
    [("vpc", ("vpc",)), (["a", "b"], ("a", "b")), ('["a", "b"]', ("a", "b")), ((), ())],
)
def test_connections_forms(connections: object, expected: tuple[str, ...]) -> None:
    """Connections are a list, JSON text of a list, or one name; an empty list is declared."""
    assert spec(connections=connections).connections == expected


def test_tags_are_text_and_aws_keys_refused() -> None:
    """Tag values become text; keys AWS reserves (aws:, any case) and over-long keys or values are refused."""
    assert spec(tags={"team": "data", "tier": 1}).tags == {"team": "data", "tier": "1"}
    assert spec(tags='{"team": "data"}').tags == {"team": "data"}
    refused("tags", "'aws:cloudformation:stack' starts with 'aws:'", tags={"aws:cloudformation:stack": "x"})
    refused("tags", "starts with 'aws:'", tags={"AWS:x": "y"})
    refused("tags", "over 128 characters", tags={"k" * 129: "v"})
    refused("tags", "over 256 characters", tags={"k": "v" * 257})
    refused("tags", "51 tags; allowed: at most 50", tags={f"k{i}": "v" for i in range(51)})
    refused("tags", "expected a dict, JSON text", tags=["team"])


@pytest.mark.parametrize(
    ("values", "parameter", "match"),
    [
        # MaxCapacity: "Do not set MaxCapacity if using WorkerType and NumberOfWorkers."
        (
            {"worker_type": "G.1X", "number_of_workers": 2, "max_capacity": 10},
            "max_capacity",
            "use worker_type \\+ number_of_workers, or max_capacity, not both",
        ),
        ({"worker_type": "G.1X"}, "number_of_workers", "is missing; worker_type G.1X needs number_of_workers"),
        ({"number_of_workers": 2}, "worker_type", "is missing; number_of_workers needs worker_type"),
        # Python shell: 0.0625 or 1 DPU, no workers, Python 3 or 3.9.
        ({"command": {"name": "pythonshell"}, "max_capacity": 10}, "max_capacity", "allowed: 0.0625 or 1"),
        (
            {"command": {"name": "pythonshell"}, "worker_type": "G.1X", "number_of_workers": 2},
            "worker_type",
            "takes no worker_type or number_of_workers",
        ),
        ({"command": {"name": "pythonshell"}, "number_of_workers": 2}, "number_of_workers", "takes no worker_type"),
        ({"command": {"name": "pythonshell", "python_version": "2"}}, "command.python_version", "allowed: 3, 3.9"),
        # Spark jobs: no MaxCapacity on Glue 2.0+, and never a fractional one.
        (
            {"command": {"name": "glueetl"}, "glue_version": "2.0", "max_capacity": 10},
            "max_capacity",
            "For Glue version 2.0\\+ jobs, you cannot specify a Maximum capacity",
        ),
        (
            {"command": {"name": "gluestreaming"}, "glue_version": 4.0, "max_capacity": 10},
            "max_capacity",
            "Glue version 2.0\\+",
        ),
        ({"command": {"name": "glueetl"}, "max_capacity": 1}, "max_capacity", "only for pythonshell jobs"),
        # Ray: Z.2X workers, a runtime, Glue 4.0+; Z.2X and runtime only for Ray.
        (
            {"command": {"name": "glueray", "runtime": "Ray2.4"}, "worker_type": "G.1X", "number_of_workers": 2},
            "worker_type",
            "allowed: Z.2X",
        ),
        ({"command": {"name": "glueray"}}, "command.runtime", "needs its Ray runtime"),
        (
            {"command": {"name": "glueray", "runtime": "Ray2.4"}, "max_capacity": 10},
            "max_capacity",
            "not max_capacity",
        ),
        ({"command": {"name": "glueray", "runtime": "Ray2.4"}, "glue_version": "3.0"}, "glue_version", "4.0 or later"),
        ({"command": {"name": "glueetl", "runtime": "Ray2.4"}}, "command.runtime", "only for glueray"),
        (
            {"command": {"name": "glueetl"}, "worker_type": "Z.2X", "number_of_workers": 2},
            "worker_type",
            "Z.2X is only for glueray",
        ),
        # G.025X: Glue 3.0+ streaming jobs only. G.4X/G.8X: Glue 3.0+.
        (
            {"command": {"name": "glueetl"}, "worker_type": "G.025X", "number_of_workers": 2},
            "worker_type",
            "G.025X is only for gluestreaming",
        ),
        (
            {
                "command": {"name": "gluestreaming"},
                "glue_version": "2.0",
                "worker_type": "G.025X",
                "number_of_workers": 2,
            },
            "worker_type",
            "G.025X needs glue_version 3.0",
        ),
        ({"glue_version": "2.0", "worker_type": "G.8X", "number_of_workers": 2}, "worker_type", "3.0 or later"),
        # FLEX: glueetl on Glue 3.0+.
        ({"command": {"name": "pythonshell"}, "execution_class": "FLEX"}, "execution_class", "allowed here: STANDARD"),
        ({"glue_version": "2.0", "execution_class": "FLEX"}, "execution_class", "FLEX needs glue_version 3.0"),
        # Maintenance windows: streaming jobs only.
        ({"command": {"name": "glueetl"}, "maintenance_window": "Mon:10"}, "maintenance_window", "gluestreaming"),
    ],
)
def test_impossible_combinations_are_refused(values: dict[str, Any], parameter: str, match: str) -> None:
    """Each combination the Glue API documents as impossible is refused, naming the parameter to change."""
    refused(parameter, match, **values)


@pytest.mark.parametrize(
    "values",
    [
        {"command": {"name": "pythonshell"}, "max_capacity": 0.0625},
        {"command": {"name": "pythonshell", "python_version": "3.9"}, "max_capacity": "1"},
        {"command": {"name": "glueetl"}, "glue_version": "1.0", "max_capacity": 10},
        {"command": {"name": "glueetl"}, "max_capacity": 10},  # glue_version left to the job: not guessed
        {"glue_version": "4.0", "max_capacity": 10},  # command left to the job: not guessed
        {"command": {"name": "gluestreaming"}, "glue_version": "3.0", "worker_type": "G.025X", "number_of_workers": 2},
        {"command": {"name": "glueray", "runtime": "Ray2.4"}, "worker_type": "Z.2X", "number_of_workers": 2},
        {"command": {"name": "glueetl"}, "glue_version": "3.0", "execution_class": "FLEX"},
        {"command": {"name": "pythonshell"}, "execution_class": "STANDARD"},
        {"command": {"name": "gluestreaming"}, "maintenance_window": "Sun:0"},
        {"maintenance_window": "Sat:23"},
        {"worker_type": "G.4X", "number_of_workers": 2},
    ],
)
def test_possible_combinations_pass(values: dict[str, Any]) -> None:
    """Allowed combinations pass, and a rule that hangs on an undeclared field is not applied."""
    spec(**values)


def test_declared_fields_have_the_api_shapes() -> None:
    """Every declared parameter appears under its API name, nested as CreateJob and JobUpdate nest it."""
    job = spec(
        role="GlueRole",
        command={"name": "glueetl", "script": "dags/etl.py", "python_version": "3"},
        glue_version="4.0",
        worker_type="G.1X",
        number_of_workers=2,
        timeout=60,
        max_retries=1,
        max_concurrent_runs=3,
        default_arguments={"--a": "1"},
        non_overridable_arguments={"--b": "2"},
        connections=["vpc"],
        security_configuration="sec",
        notify_delay_after=5,
        execution_class="STANDARD",
        job_run_queuing_enabled=True,
        description="nightly",
        tags={"team": "data"},
        extra_job_fields={"JobMode": "SCRIPT"},
    )
    assert job.declared_fields(script_location=SCRIPT) == {
        "Role": "GlueRole",
        "Command": {"Name": "glueetl", "ScriptLocation": SCRIPT, "PythonVersion": "3"},
        "GlueVersion": "4.0",
        "WorkerType": "G.1X",
        "NumberOfWorkers": 2,
        "Timeout": 60,
        "MaxRetries": 1,
        "ExecutionProperty": {"MaxConcurrentRuns": 3},
        "DefaultArguments": {"--a": "1"},
        "NonOverridableArguments": {"--b": "2"},
        "Connections": {"Connections": ["vpc"]},
        "SecurityConfiguration": "sec",
        "NotificationProperty": {"NotifyDelayAfter": 5},
        "ExecutionClass": "STANDARD",
        "JobRunQueuingEnabled": True,
        "Description": "nightly",
        "JobMode": "SCRIPT",
    }
    assert job.declared_fields()["Command"]["ScriptLocation"] == "dags/etl.py"


def test_declared_fields_hold_only_declared_keys_and_are_copies() -> None:
    """A partial spec gives only its own fields (the command only its declared keys), in copies."""
    job = spec(command={"name": "gluestreaming"}, max_capacity=2, default_arguments={"--a": "1"})
    fields = job.declared_fields()
    assert fields == {"Command": {"Name": "gluestreaming"}, "MaxCapacity": 2.0, "DefaultArguments": {"--a": "1"}}
    fields["DefaultArguments"]["--a"] = "changed"
    assert job.default_arguments == {"--a": "1"}


def test_create_request_adds_name_and_tags() -> None:
    """CreateJob's request is Name, the declared fields and Tags; without tags there is no Tags key."""
    job = spec(role="GlueRole", command={"script": SCRIPT}, tags={"team": "data"})
    assert job.create_request() == {
        "Name": "job",
        "Role": "GlueRole",
        "Command": {"Name": "glueetl", "ScriptLocation": SCRIPT},
        "Tags": {"team": "data"},
    }
    assert "Tags" not in spec(role="GlueRole", command={"script": SCRIPT}).create_request()


@pytest.mark.parametrize(
    ("values", "script_location", "parameter", "match"),
    [
        ({"command": {"script": SCRIPT}}, None, "role", "required to create the job"),
        ({"role": "R"}, None, "command", "required to create the job"),
        ({"role": "R", "command": {"name": "glueetl"}}, None, "command.script", "required to create the job"),
        ({"role": "R", "command": {"script": "dags/etl.py"}}, None, "command.script", "is a local path; upload"),
        (
            {"role": "R", "command": {"name": "glueray", "script": SCRIPT, "runtime": "Ray2.4"}},
            None,
            "worker_type",
            "required to create a glueray job",
        ),
    ],
)
def test_create_request_refuses_what_createjob_cannot_take(
    values: dict[str, Any], script_location: str | None, parameter: str, match: str
) -> None:
    """A spec missing a field CreateJob needs (role, command, an S3 script) is refused before the call."""
    with pytest.raises(GlueJobRunParameterError, match=match) as info:
        spec(**values).create_request(script_location)
    assert info.value.parameter == parameter


def test_create_request_uses_the_uploaded_script_location() -> None:
    """A local script is replaced by the S3 URI it was uploaded to."""
    job = spec(role="R", command={"script": "dags/etl.py"})
    assert job.create_request(script_location=SCRIPT)["Command"]["ScriptLocation"] == SCRIPT


def test_extra_job_fields_pass_unmodelled_createjob_members() -> None:
    """CreateJob members the spec does not model pass through as declared, from a mapping or JSON text."""
    details = {"Provider": "GITHUB", "Repository": "etl"}
    job = spec(extra_job_fields={"LogUri": "s3://b/logs", "SourceControlDetails": details})
    assert job.declared_fields() == {"LogUri": "s3://b/logs", "SourceControlDetails": details}
    assert spec(extra_job_fields='{"JobMode": "VISUAL"}').extra_job_fields == {"JobMode": "VISUAL"}


@pytest.mark.parametrize(
    ("extra", "parameter", "match"),
    [
        ({"WorkerType": "G.1X"}, "extra_job_fields.WorkerType", "set by the spec parameter worker_type; use it"),
        ({"ExecutionProperty": {}}, "extra_job_fields.ExecutionProperty", "spec parameter max_concurrent_runs"),
        ({"Name": "other"}, "extra_job_fields.Name", "spec parameter job_name"),
        ({"Tags": {}}, "extra_job_fields.Tags", "spec parameter tags"),
        ({"AllocatedCapacity": 10}, "extra_job_fields.AllocatedCapacity", "deprecated by AWS; use max_capacity"),
        ({"LogURI": "s3://b"}, "extra_job_fields", "'LogURI' is not a CreateJob field; allowed: .*JobMode.*LogUri"),
        ({"LogUri": 3}, "extra_job_fields.LogUri", "expected text, got int"),
        ({"LogUri": None}, "extra_job_fields.LogUri", "got NoneType"),
        ({"SourceControlDetails": "github"}, "extra_job_fields.SourceControlDetails", "expected a mapping, got str"),
        ({"JobMode": "CLI"}, "extra_job_fields.JobMode", "'CLI' is not one of SCRIPT, VISUAL, NOTEBOOK"),
        (["JobMode"], "extra_job_fields", "expected a mapping of CreateJob fields"),
    ],
)
def test_extra_job_fields_are_checked_against_the_model(extra: object, parameter: str, match: str) -> None:
    """A modelled, deprecated or unknown member, or a value of the wrong type, is refused with the way out."""
    refused(parameter, match, extra_job_fields=extra)


def test_api_field_names_cover_every_createjob_member() -> None:
    """Each CreateJob member maps to the spec parameter a user writes; unmodelled ones to extra_job_fields.X."""
    members = botocore.session.get_session().get_service_model("glue").operation_model("CreateJob").input_shape.members
    assert set(API_FIELD_NAMES) == set(members)
    assert API_FIELD_NAMES["ExecutionProperty"] == "max_concurrent_runs"
    assert API_FIELD_NAMES["Connections"] == "connections"
    assert API_FIELD_NAMES["NotificationProperty"] == "notify_delay_after"
    assert API_FIELD_NAMES["LogUri"] == "extra_job_fields.LogUri"
    assert set(SPEC_FIELDS) - {"extra_job_fields"} <= set(API_FIELD_NAMES.values())


def test_hand_written_rules_match_botocore_model() -> None:
    """The command names, patterns and sizes written here agree with botocore's Glue model."""
    model = botocore.session.get_session().get_service_model("glue")
    command = model.shape_for("JobCommand")
    assert all(name in command.members["Name"].documentation for name in COMMAND_NAMES)
    assert command.members["PythonVersion"].metadata["pattern"] == "^([2-3]|3[.]9)$"
    window = model.operation_model("CreateJob").input_shape.members["MaintenanceWindow"]
    assert window.metadata["pattern"] == "^(Sun|Mon|Tue|Wed|Thu|Fri|Sat):([01]?[0-9]|2[0-3])$"
    assert {"Z.2X", "G.025X", "G.4X", "G.8X"} <= set(spec_checks.model_enum("WorkerType"))
    assert spec_checks.model_enum("ExecutionClass") == ("FLEX", "STANDARD")
    assert set(spec_rules.PYTHON_SHELL_VERSIONS) <= {"2", "3", "3.9"}
    timeout = model.operation_model("CreateJob").input_shape.members["Timeout"]
    assert "less than 7 days or 10080 minutes" in timeout.documentation
