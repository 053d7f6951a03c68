"""Links to a Glue job's and a job run's page in the AWS console, for the right partition."""

from __future__ import annotations

from urllib.parse import quote

__all__ = ["console_url", "job_console_url"]


def _console_host(region: str) -> str:
    if region.startswith("cn-"):
        return "console.amazonaws.cn"
    if region.startswith("us-gov-"):
        return "console.amazonaws-us-gov.com"
    return f"{region}.console.aws.amazon.com"


def console_url(region: str, job_name: str, run_id: str) -> str:
    """Return the Glue Studio page of run ``run_id`` of ``job_name`` in ``region``."""
    job = quote(job_name, safe="")
    run = quote(run_id, safe="")
    return f"https://{_console_host(region)}/gluestudio/home?region={region}#/job/{job}/run/{run}"


def job_console_url(region: str, job_name: str) -> str:
    """Return the Glue Studio page of the job ``job_name`` (its details tab) in ``region``."""
    job = quote(job_name, safe="")
    return f"https://{_console_host(region)}/gluestudio/home?region={region}#/editor/job/{job}/details"
