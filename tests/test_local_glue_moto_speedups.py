"""The local Glue's patches of moto's SQS and EventBridge hot spots: the same answers, without scanning the backlog.

moto's backends are driven directly (a fresh account per test), as the local Glue's server does.
"""

from __future__ import annotations

import datetime
import itertools
import json
import time
from typing import Any

import jsonpath_ng.ext
import moto.core.utils
import moto.sqs.models
import pytest
from moto.events.models import events_backends
from moto.sqs.models import Queue, sqs_backends

from airflow_glue_runs.local_glue._moto_speedups import speed_up_moto

_accounts = itertools.count(100_000_000_001)


@pytest.fixture
def sqs() -> Any:
    speed_up_moto()
    return sqs_backends[str(next(_accounts))]["us-east-1"]


def test_epoch_functions_answer_as_moto_does() -> None:
    """SQS's clock gives moto's own epoch seconds and milliseconds, for a given datetime and for now."""
    speed_up_moto()
    when = datetime.datetime(2026, 12, 7, 3, 4, 5, 678901)
    assert moto.sqs.models.unix_time(when) == moto.core.utils.unix_time(when)
    assert moto.sqs.models.unix_time_millis(when) == moto.core.utils.unix_time_millis(when)
    before = moto.core.utils.unix_time()
    now = moto.sqs.models.unix_time()
    assert before <= now <= moto.core.utils.unix_time()


def test_receive_keeps_the_retention_period(sqs: Any) -> None:
    """A receive stops at a message older than the queue's retention, as moto's does: the fresh one before it comes."""
    sqs.create_queue("q", MessageRetentionPeriod="60")
    sqs.send_message("q", "fresh")
    old = sqs.send_message("q", "old")
    old.sent_timestamp -= 61_000

    assert [message.body for message in sqs.receive_message("q", 10, 0, 30)] == ["fresh"]


def test_receive_reads_no_queue_attributes(sqs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Receiving 10 of 1000 messages builds the queue's attributes (a scan of every message) not once per message."""
    sqs.create_queue("q")
    sent = [sqs.send_message("q", f"m{i}") for i in range(1000)]
    builds = []
    attributes = Queue.attributes

    def counted(queue: Queue) -> dict[str, Any]:
        builds.append(queue.name)
        return attributes.fget(queue)  # type: ignore[no-any-return,attr-defined]

    monkeypatch.setattr(Queue, "attributes", property(counted))

    received = sqs.receive_message("q", 10, 0, 30)

    assert [message.body for message in received] == [message.body for message in sent[:10]]
    assert builds == []


def test_event_rule_delivers_the_event_to_its_queue(sqs: Any) -> None:
    """An EventBridge rule still delivers a Glue event to its SQS target, its paths parsed once and kept."""
    events = events_backends[sqs.account_id]["us-east-1"]
    queue = sqs.create_queue("events")
    pattern = {"source": ["aws.glue"], "detail-type": ["Glue Job State Change"]}
    events.put_rule("glue", event_pattern=json.dumps(pattern), state="ENABLED")
    events.put_targets("glue", None, [{"Id": "sqs", "Arn": queue.queue_arn}])
    detail = {"jobName": "nightly", "state": "SUCCEEDED", "jobRunId": "jr_1"}
    for _ in range(2):
        entry = {"Source": "aws.glue", "DetailType": "Glue Job State Change", "Detail": json.dumps(detail)}
        events.put_events([{**entry, "Resources": [], "Time": time.time()}])

    bodies = [json.loads(message.body) for message in sqs.receive_message("events", 10, 0, 30)]

    assert [body["detail"] for body in bodies] == [detail, detail]
    assert jsonpath_ng.ext.parse("$.detail") is jsonpath_ng.ext.parse("$.detail")
