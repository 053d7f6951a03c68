"""The "Glue job run" and "Glue job" extra links: console URLs per region and partition, read from XCom."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from airflow.sdk.execution_time.xcom import XCom

from airflow_glue_runs import get_provider_info
from airflow_glue_runs.links import JOB_LINK_XCOM_KEY, LINK_XCOM_KEY, GlueJobLink, GlueJobRunLink, link_target
from airflow_glue_runs.operators import GlueJobDefinitionOperator, GlueJobRunOperator


def _link_for(value: Any) -> str:
    op = GlueJobRunOperator(task_id="glue", job_name="nightly")
    ti_key = mock.sentinel.ti_key
    with mock.patch.object(XCom, "get_value", autospec=True, return_value=value) as get_value:
        link = GlueJobRunLink().get_link(op, ti_key=ti_key)
    get_value.assert_called_once_with(ti_key=ti_key, key=LINK_XCOM_KEY)
    return link


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        (
            "eu-west-1",
            "https://eu-west-1.console.aws.amazon.com/gluestudio/home?region=eu-west-1#/job/nightly%20etl/run/jr_1",
        ),
        ("cn-north-1", "https://console.amazonaws.cn/gluestudio/home?region=cn-north-1#/job/nightly%20etl/run/jr_1"),
        (
            "us-gov-west-1",
            "https://console.amazonaws-us-gov.com/gluestudio/home?region=us-gov-west-1#/job/nightly%20etl/run/jr_1",
        ),
    ],
)
def test_link_points_at_the_run_in_its_partition(region: str, expected: str) -> None:
    """The link is the run's Glue Studio page in the console of the run's region and partition."""
    assert _link_for(link_target(region, "nightly etl", "jr_1")) == expected


@pytest.mark.parametrize("value", [None, "jr_1", {"region_name": "eu-west-1"}])
def test_no_link_before_the_run_is_known(value: Any) -> None:
    """Before the operator has pushed a run (or with an unexpected value) the link is empty."""
    assert _link_for(value) == ""


def test_link_is_registered() -> None:
    """The operator carries the link and the provider lists it, with the name users see in the UI."""
    assert GlueJobRunLink().name == "Glue job run"
    assert any(isinstance(link, GlueJobRunLink) for link in GlueJobRunOperator.operator_extra_links)
    assert "airflow_glue_runs.links.GlueJobRunLink" in get_provider_info()["extra-links"]


def test_the_job_link_points_at_the_job_and_is_registered() -> None:
    """The "Glue job" link of the definition task is the job's Glue Studio page; empty before the task ran."""
    op = GlueJobDefinitionOperator(task_id="define", job_name="nightly etl")
    with mock.patch.object(XCom, "get_value", autospec=True, return_value=None):
        assert GlueJobLink().get_link(op, ti_key=mock.sentinel.ti_key) == ""
    target = {"region_name": "cn-north-1", "job_name": "nightly etl"}
    with mock.patch.object(XCom, "get_value", autospec=True, return_value=target) as get_value:
        link = GlueJobLink().get_link(op, ti_key=mock.sentinel.ti_key)
    get_value.assert_called_once_with(ti_key=mock.sentinel.ti_key, key=JOB_LINK_XCOM_KEY)
    assert link == "https://console.amazonaws.cn/gluestudio/home?region=cn-north-1#/editor/job/nightly%20etl/details"
    assert any(isinstance(link, GlueJobLink) for link in GlueJobDefinitionOperator.operator_extra_links)
    assert "airflow_glue_runs.links.GlueJobLink" in get_provider_info()["extra-links"]
