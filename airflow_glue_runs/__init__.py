"""airflow-glue-runs: an Apache Airflow provider that runs AWS Glue job runs.

Public import paths: ``airflow_glue_runs.hooks.GlueJobRunHook``, ``airflow_glue_runs.job_run.JobRun`` and
``JobRunState``, ``airflow_glue_runs.operators.GlueJobRunOperator``, ``airflow_glue_runs.triggers.GlueJobRunTrigger``,
``airflow_glue_runs.sensors.GlueJobRunSensor``, ``airflow_glue_runs.event_triggers.GlueJobRunEndedTrigger`` (for
asset watchers). Importing this package imports nothing heavy.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("airflow-glue-runs")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that was never installed
    __version__ = "0.0.0"

_INTEGRATION = "AWS Glue job runs"
DOCUMENTATION_URL = "https://airflow-glue-runs.example.org/"
"""The documentation site's home (built from ``docs/`` by ``make docs``; a placeholder host until it is published).
pyproject.toml's ``project.urls.Documentation`` says the same: Airflow 3.3 reads that one."""


def get_provider_info() -> dict[str, Any]:
    """Describe the provider to Airflow's ProvidersManager (entry point ``apache_airflow_provider``)."""
    return {
        "package-name": "airflow-glue-runs",
        "name": "AWS Glue job runs",
        "description": "Run AWS Glue job runs from Airflow: one state model, cheap deferred waits, no duplicate runs.",
        "versions": [__version__],
        "documentation-url": DOCUMENTATION_URL,
        "integrations": [
            {
                "integration-name": _INTEGRATION,
                "external-doc-url": "https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-jobs-runs.html",
                "tags": ["aws"],
            }
        ],
        "hooks": [{"integration-name": _INTEGRATION, "python-modules": ["airflow_glue_runs.hooks"]}],
        "operators": [{"integration-name": _INTEGRATION, "python-modules": ["airflow_glue_runs.operators"]}],
        "sensors": [{"integration-name": _INTEGRATION, "python-modules": ["airflow_glue_runs.sensors"]}],
        "triggers": [
            {
                "integration-name": _INTEGRATION,
                "python-modules": ["airflow_glue_runs.triggers", "airflow_glue_runs.event_triggers"],
            }
        ],
        "extra-links": ["airflow_glue_runs.links.GlueJobRunLink", "airflow_glue_runs.links.GlueJobLink"],
        "config": {
            "glue_runs": {
                "description": "Options of the airflow-glue-runs provider, read by the triggerer.",
                "options": {
                    "event_queue_url": {
                        "description": (
                            'URL of the SQS queue that receives Glue\'s "Glue Job State Change" events for this '
                            "triggerer (EventBridge rule -> SNS topic -> one queue per triggerer). When set, the "
                            "triggerer reads a waiting run as soon as an event names it, and otherwise every "
                            "event_safety_interval seconds; unset, runs are polled every poll_interval. Each "
                            "triggerer needs a queue of its own. See docs/event-wakeups.md."
                        ),
                        "version_added": None,
                        "type": "string",
                        "example": "https://sqs.us-east-1.amazonaws.com/123456789012/airflow-glue-events-triggerer-1",
                        "default": None,
                    },
                    "event_safety_interval": {
                        "description": (
                            "Seconds between reads of a waiting run while the event queue answers (the safety net "
                            "for lost events and for ends Glue sends no event for: ERROR, EXPIRED). A trigger whose "
                            "poll_interval is longer keeps it; while the queue fails, runs are read every "
                            "poll_interval."
                        ),
                        "version_added": None,
                        "type": "float",
                        "example": None,
                        "default": "300",
                    },
                },
            }
        },
    }
