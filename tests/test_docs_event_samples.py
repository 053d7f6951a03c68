"""The samples of the streaming, event wake-up and local Glue events pages, run or checked against the code.

The local Glue samples run against a local Glue; the triggerer's configuration samples are read with the provider's
declared options and its own settings reader; the CloudFormation stack is parsed (with its ``!Ref``/``!GetAtt``
tags) and checked against the topology the page describes, the event pattern the local Glue uses, and the SQS calls
the consumer makes. The DAG samples are parsed with the others in ``test_docs_samples.py`` (``SITE_DAGS``), and the
DAG test of the local Glue events page runs there under pytest with the other fixture samples.
"""

from __future__ import annotations

import ast
import configparser
import json
import re
import runpy
import shlex
import uuid
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from support import aws_client
from test_docs_samples import DOCS, SNIPPETS

import airflow_glue_runs

if TYPE_CHECKING:
    from airflow_glue_runs.local_glue import LocalGlue

CONSUMER = Path(airflow_glue_runs.__file__).parent / "_internal" / "events" / "consumer.py"


def test_the_streaming_local_glue_sample_runs() -> None:
    """The streaming page's local Glue sample makes a gluestreaming job whose run is RUNNING, then STOPPING."""
    names = runpy.run_path(str(SNIPPETS / "streaming_local_glue.py"))
    assert (names["running"], names["stopping"]) == ("RUNNING", "STOPPING")


def test_the_local_glue_events_samples_run() -> None:
    """The queue, fan-out, switches and boto3 read samples, run in order: every queue gets the run's one event."""
    names = runpy.run_path(str(SNIPPETS / "local_glue_events.py"))
    event = names["event"]
    assert (event["source"], event["detail-type"]) == ("aws.glue", "Glue Job State Change")
    assert (event["detail"]["jobRunId"], event["detail"]["state"]) == (names["run_id"], "SUCCEEDED")
    assert names["counts"] == {"emitted": 1, "dropped": 0, "duplicated": 0, "delayed": 0, "failed": 0}
    per_queue = [[json.loads(m["Body"])["detail"]["jobRunId"] for m in got] for got in names["received"]]
    assert per_queue == [[names["run_id"]], [names["run_id"]]]  # one rule per queue: each receives every event


def test_the_event_sample_is_what_the_local_glue_sends(glue: LocalGlue) -> None:
    """The page's example event has the keys, order and values the local Glue sends for a FAILED run."""
    sample = json.loads((SNIPPETS / "local_glue_event.json").read_text())
    queue_url = glue.create_event_queue()
    glue.create_job(
        "nightly",
        default_arguments={"--local-glue-final-state": "FAILED", "--local-glue-error-message": "No such table: sales"},
    )
    run_id = glue.client().start_job_run(JobName="nightly")["JobRunId"]
    (message,) = aws_client(glue, "sqs").receive_message(QueueUrl=queue_url, WaitTimeSeconds=20)["Messages"]
    sent = json.loads(message["Body"])
    assert sorted(sent) == sorted(sample)
    assert list(sent["detail"]) == list(sample["detail"])  # AWS's order: jobName, severity, state, jobRunId, message
    assert sent["detail"] == {**sample["detail"], "jobRunId": run_id}
    assert {key: sent[key] for key in ("version", "detail-type", "source", "region", "resources")} == {
        key: sample[key] for key in ("version", "detail-type", "source", "region", "resources")
    }
    for event in (sample, sent):
        uuid.UUID(event["id"])
        datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ")


def test_the_control_client_sample_drives_a_local_glue_in_another_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command-line server's sample, with the URL its --port-file holds: a queue, and the next event delayed."""
    from airflow_glue_runs.local_glue import local_glue_process

    with local_glue_process() as control:
        (tmp_path / "endpoint.txt").write_text(control.endpoint_url + "\n")
        monkeypatch.chdir(tmp_path)
        names = runpy.run_path(str(SNIPPETS / "local_glue_control_events.py"))
        assert names["queue_url"].startswith(control.endpoint_url + "/")
        assert names["queue_url"].endswith("/glue-events")
        control.create_job("nightly", default_arguments={"--local-glue-duration": "0"})
        control.client().start_job_run(JobName="nightly")
        assert control.event_counts()["delayed"] == 1  # ended at once, sent 5 s later
        assert control.calls()["PutRule"] == 1


# The triggerer's configuration.

OPTIONS = airflow_glue_runs.get_provider_info()["config"]["glue_runs"]["options"]


def test_the_triggerer_samples_set_the_options_the_provider_declares(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment and airflow.cfg samples set exactly the declared [glue_runs] options, to values it accepts."""
    from airflow_glue_runs._internal.events.settings import EventSettings, read_event_settings

    exports = [shlex.split(line) for line in (SNIPPETS / "event_wakeups_triggerer.sh").read_text().splitlines()]
    assert exports[-1] == ["airflow", "triggerer"]
    environment = dict(words[1].split("=", 1) for words in exports if words[:1] == ["export"])
    assert {name.removeprefix("AIRFLOW__GLUE_RUNS__").lower() for name in environment} == set(OPTIONS)
    assert environment["AIRFLOW__GLUE_RUNS__EVENT_SAFETY_INTERVAL"] == OPTIONS["event_safety_interval"]["default"]

    ini = configparser.ConfigParser()
    ini.read_string((SNIPPETS / "event_wakeups_airflow.cfg").read_text())
    assert ini.sections() == ["glue_runs"]
    assert {f"AIRFLOW__GLUE_RUNS__{name.upper()}": value for name, value in ini["glue_runs"].items()} == environment

    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    expected = EventSettings(queue_url=environment["AIRFLOW__GLUE_RUNS__EVENT_QUEUE_URL"], safety_interval=300.0)
    assert read_event_settings() == expected  # a URL the reader accepts: no "bad value" fallback to polling


def test_the_configuration_table_lists_the_declared_options_and_defaults() -> None:
    """The event wake-ups page's table names each declared option, its environment variable and its default."""
    rows = re.findall(r"^\| `(\w+)` \| `(\w+)` \| `?([^|`]+?)`? \|", (DOCS / "event-wakeups.md").read_text(), re.M)
    assert {option for option, _, _ in rows} == set(OPTIONS)
    for option, variable, default in rows:
        assert variable == f"AIRFLOW__GLUE_RUNS__{option.upper()}"
        assert default == (OPTIONS[option]["default"] or "unset")


# The CloudFormation stack and the IAM statement.


class CloudFormationLoader(yaml.SafeLoader):
    """A YAML loader that reads CloudFormation's short tags (``!Ref X`` as ``{"Ref": "X"}``, ``!GetAtt A.B``...)."""


def _short_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


CloudFormationLoader.add_multi_constructor("!", _short_tag)


def load_stack() -> dict[str, Any]:
    return yaml.load((SNIPPETS / "event_wakeups_stack.yaml").read_text(), Loader=CloudFormationLoader)


def of_type(resources: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: resource["Properties"] for name, resource in resources.items() if resource["Type"] == kind}


def test_the_cloudformation_loader_reads_short_tags() -> None:
    """The loader the stack check uses turns each short tag into its long form, and a plain loader refuses them."""
    text = "a: !Ref Topic\nb: !GetAtt Queue.Arn\nc: !Sub '${AWS::Region}'\n"
    assert yaml.load(text, Loader=CloudFormationLoader) == {
        "a": {"Ref": "Topic"},
        "b": {"Fn::GetAtt": ["Queue", "Arn"]},
        "c": {"Fn::Sub": "${AWS::Region}"},
    }
    with pytest.raises(yaml.constructor.ConstructorError):
        yaml.safe_load(text)


def test_the_stack_routes_glue_events_to_one_queue_per_triggerer() -> None:
    """Rule (the local Glue's pattern) -> SNS topic -> per triggerer one queue, raw subscription and queue policy."""
    from airflow_glue_runs._internal.events.consumer import WAIT_TIME_SECONDS
    from airflow_glue_runs.local_glue import EVENT_PATTERN

    stack = load_stack()
    resources = stack["Resources"]
    (topic,) = of_type(resources, "AWS::SNS::Topic")
    (rule_name, rule), *others = of_type(resources, "AWS::Events::Rule").items()
    assert others == []
    assert rule["EventPattern"] == EVENT_PATTERN
    assert rule["EventBusName"] == "default"
    assert [target["Arn"] for target in rule["Targets"]] == [{"Ref": topic}]
    (topic_policy,) = of_type(resources, "AWS::SNS::TopicPolicy").values()
    (statement,) = topic_policy["PolicyDocument"]["Statement"]
    assert (statement["Principal"], statement["Action"]) == ({"Service": "events.amazonaws.com"}, "sns:Publish")
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Fn::GetAtt": [rule_name, "Arn"]}

    queues = of_type(resources, "AWS::SQS::Queue")
    subscriptions = list(of_type(resources, "AWS::SNS::Subscription").values())
    policies = list(of_type(resources, "AWS::SQS::QueuePolicy").values())
    assert len(queues) == len(subscriptions) == len(policies) == 2  # the page's "two triggerers"
    for name, queue in queues.items():
        assert queue["ReceiveMessageWaitTimeSeconds"] == WAIT_TIME_SECONDS
        arn = {"Fn::GetAtt": [name, "Arn"]}
        (subscription,) = [s for s in subscriptions if s["Endpoint"] == arn]
        assert subscription == {
            "TopicArn": {"Ref": topic},
            "Protocol": "sqs",
            "Endpoint": arn,
            "RawMessageDelivery": True,
        }
        (policy,) = [p for p in policies if p["Queues"] == [{"Ref": name}]]
        (statement,) = policy["PolicyDocument"]["Statement"]
        assert (statement["Principal"], statement["Action"]) == ({"Service": "sns.amazonaws.com"}, "sqs:SendMessage")
        assert statement["Resource"] == arn
        assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == {"Ref": topic}
    outputs = {output["Value"]["Ref"] for output in stack["Outputs"].values()}
    assert outputs == set(queues)  # a queue's Ref is its URL: each triggerer's event_queue_url


def consumer_sqs_calls() -> dict[str, set[str]]:
    """Return the SQS operations (``ReceiveMessage``...) ``consumer.py`` calls, by the method that calls them."""
    calls: dict[str, set[str]] = {}
    for function in ast.walk(ast.parse(CONSUMER.read_text())):
        if not isinstance(function, ast.AsyncFunctionDef | ast.FunctionDef):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Call) and any(keyword.arg == "QueueUrl" for keyword in node.keywords):
                assert isinstance(node.func, ast.Attribute)
                operation = "".join(part.title() for part in node.func.attr.split("_"))
                calls.setdefault(function.name, set()).add(operation)
    return calls


def iam_action(operation: str) -> str:
    """Return the IAM action that authorises an SQS operation (a batch is authorised by its single action)."""
    return "sqs:" + operation.removesuffix("Batch")


def test_the_iam_statement_grants_what_the_consumer_calls() -> None:
    """The page's IAM statement allows the consumer's SQS calls; its optional actions are the heartbeat's calls."""
    calls = consumer_sqs_calls()
    assert calls["_heartbeat"] == {"TagQueue", "ListQueueTags", "UntagQueue"}
    required = {
        iam_action(operation) for name, operations in calls.items() if name != "_heartbeat" for operation in operations
    }
    assert required == {"sqs:ReceiveMessage", "sqs:DeleteMessage"}  # from ReceiveMessage and DeleteMessageBatch
    statement = json.loads((SNIPPETS / "event_wakeups_iam.json").read_text())
    assert set(statement["Action"]) == required
    optional = (DOCS / "event-wakeups.md").read_text().split("### IAM for the triggerer's connection", 1)[1]
    optional = optional.split("\n## ", 1)[0]
    assert {iam_action(operation) for operation in calls["_heartbeat"]} <= set(re.findall(r"`(sqs:\w+)`", optional))
