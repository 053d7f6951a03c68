"""OpenLineage pieces without a DAG: the --conf merge, masking, switches, and injection that must not call Glue.

In this test process the OpenLineage provider is installed but disabled (no transport configured), which is
also how most installations without an OpenLineage backend look.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pytest

from airflow_glue_runs._internal.lineage.openlineage import (
    LineageSource,
    conf_keys,
    inject_openlineage,
    injection_default,
    mask_secret_values,
    merge_conf,
)
from airflow_glue_runs._internal.start.arguments import prepare_arguments
from airflow_glue_runs.exceptions import GlueJobRunParameterError
from airflow_glue_runs.job_run import JobRun, JobRunState
from airflow_glue_runs.operators import GlueJobRunOperator

if TYPE_CHECKING:
    from airflow_glue_runs.hooks import GlueJobRunHook
    from airflow_glue_runs.local_glue import LocalGlue

LOG = logging.getLogger("test")


def test_merge_keeps_job_properties_and_lets_the_user_win() -> None:
    """The merged --conf keeps every job property the user does not set, then the user's, in order."""
    job = "spark.extraListeners=L --conf spark.shared=job --conf spark.job.only=1"
    user = "spark.shared=user --conf spark.user.only=2"
    merged = merge_conf(job, user)
    assert merged == "spark.extraListeners=L --conf spark.job.only=1 --conf spark.shared=user --conf spark.user.only=2"


def test_merge_handles_missing_sides_and_odd_parts() -> None:
    """Either side may be absent; a part without '=' is kept; a leading '--conf' is read like the others."""
    assert merge_conf(None, None) == ""
    assert merge_conf("a=1", None) == "a=1"
    assert merge_conf(None, "--conf b=2") == "b=2"
    assert merge_conf("odd --conf a=1", "a=2") == "odd --conf a=2"


def test_conf_keys_reads_values_with_equals_signs() -> None:
    """A value may hold '=' (only the first one splits); keys come back in order."""
    assert conf_keys("a=x=y --conf  b=2 --conf odd") == ["a", "b"]


def test_mask_secret_values_masks_values_and_api_key_properties() -> None:
    """Secret values and any OpenLineage API key property are replaced by ***; the longest secret first."""
    text = "bad login pw123456 / pw123 --conf spark.openlineage.transport.auth.apiKey=Bearer abc.def x"
    masked = mask_secret_values(text, ["pw123", "pw123456", ""])
    assert masked == "bad login *** / *** --conf spark.openlineage.transport.auth.apiKey=*** x"


def test_switches_are_checked_and_default_to_none() -> None:
    """Both switches accept True/False, default to None (the [openlineage] option), and refuse anything else."""
    op = GlueJobRunOperator(task_id="t", job_name="job")
    assert op.openlineage_inject_parent_job_info is None
    assert op.openlineage_inject_transport_info is None
    with pytest.raises(GlueJobRunParameterError, match="openlineage_inject_parent_job_info"):
        GlueJobRunOperator(task_id="t", job_name="job", openlineage_inject_parent_job_info="yes")  # type: ignore[arg-type]


def test_injection_default_reads_the_openlineage_section(monkeypatch: pytest.MonkeyPatch) -> None:
    """The defaults come from [openlineage] spark_inject_*_info when the task runs, False when unset."""
    monkeypatch.delenv("AIRFLOW__OPENLINEAGE__SPARK_INJECT_PARENT_JOB_INFO", raising=False)
    assert injection_default("spark_inject_parent_job_info") is False
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__SPARK_INJECT_PARENT_JOB_INFO", "True")
    assert injection_default("spark_inject_parent_job_info") is True


@dataclass
class _Task:
    """What inject_openlineage reads from an operator, with a real hook on the local Glue."""

    openlineage_inject_parent_job_info: bool | None
    openlineage_inject_transport_info: bool | None = False
    job_name: str = "job"
    log: logging.Logger = field(default=LOG)

    @cached_property
    def hook(self) -> GlueJobRunHook:
        from airflow_glue_runs.hooks import GlueJobRunHook

        return GlueJobRunHook(aws_conn_id="aws_default")


@pytest.mark.parametrize("parent", [False, True], ids=["off", "on-but-openlineage-disabled"])
def test_no_injection_sends_the_same_arguments_and_reads_no_job(glue: LocalGlue, parent: bool) -> None:
    """Injection off, or OpenLineage disabled: the very same arguments come back and no GetJob is made."""
    glue.create_job("job", default_arguments={"--conf": "spark.extraListeners=L"})
    glue.reset_counters()
    arguments = prepare_arguments({"--conf": "a=1", "--day": "1"})
    assert inject_openlineage(arguments, {}, _Task(parent)) is arguments
    assert "GetJob" not in glue.calls()


def test_hook_get_job_returns_the_definition(glue: LocalGlue) -> None:
    """GetJob through the hook returns the job's DefaultArguments and NonOverridableArguments."""
    from airflow_glue_runs.hooks import GlueJobRunHook

    glue.create_job("job", default_arguments={"--conf": "a=1"}, non_overridable_arguments={"--x": "1"})
    job = GlueJobRunHook(aws_conn_id="aws_default").get_job("job")
    assert job["DefaultArguments"]["--conf"] == "a=1"
    assert job["NonOverridableArguments"] == {"--x": "1"}


def test_lineage_source_masks_sensitive_run_arguments() -> None:
    """The facets' secrets are the task's secret values and the run's sensitive-named argument values."""

    class _Hook:
        conn_region_name = "eu-west-1"

    run = JobRun(
        id="jr_1",
        state=JobRunState.FAILED,
        arguments={"--db-password": "pw-from-run", "--day": "1"},
        error_message="x",
    )
    arguments = prepare_arguments({"--token-x": "tok"}, ["--token-x"])
    hook: Any = _Hook()
    source = LineageSource.of("job", hook, None, run, arguments)
    assert source.run_id == "jr_1"
    assert source.region == "eu-west-1"
    assert set(source.secrets) == {"tok", "pw-from-run"}
    assert LineageSource.of("job", hook, None, None).region is None


def test_operator_and_sensor_modules_import_no_openlineage() -> None:
    """DAG files importing the operator and the sensor load neither the OpenLineage client nor its provider's code.

    (Airflow's own provider discovery imports every provider's ``get_provider_info``; that is not ours.)
    """
    import subprocess
    import sys

    code = (
        "import sys, airflow_glue_runs.operators, airflow_glue_runs.sensors;"
        "prefixes = ('openlineage', 'airflow.providers.openlineage.', 'airflow.providers.common.compat.openlineage');"
        "print(sorted(m for m in sys.modules if m.startswith(prefixes) and not m.endswith('.get_provider_info')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"
