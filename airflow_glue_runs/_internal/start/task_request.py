"""What a task asks Glue to start, after Jinja: its job arguments parsed once and every field checked.

The operator's *configure* step. Arguments are parsed and their secret values registered with Airflow's masker once
per task (rendering shows them masked right after, while the real values stay here); the StartJobRun request is then
built and checked in full, with a stand-in marker, before anything is sent to AWS, so bad input fails with an error
that names the parameter.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from airflow_glue_runs._internal.start.arguments import (
    JobArguments,
    argument_warnings,
    prepare_arguments,
    register_secrets,
)
from airflow_glue_runs._internal.start.ledger import MARKER_ARGUMENT
from airflow_glue_runs._internal.start.options import rendered_run_options
from airflow_glue_runs._internal.start.request import build_start_job_run_request
from airflow_glue_runs.exceptions import GlueJobRunParameterError

__all__ = ["TaskRequest"]


@dataclasses.dataclass
class TaskRequest:
    """One task's job arguments and run options, as they will be sent.

    :param secret_arguments: the task's ``secret_arguments``.
    """

    secret_arguments: tuple[str, ...]
    arguments: JobArguments | None = None
    """The parsed arguments (``None`` until :meth:`prepare`); the operator may replace them (OpenLineage)."""

    def prepare(self, raw: Mapping[str, Any] | str | None) -> JobArguments:
        """Parse the rendered ``arguments`` once and register their secret values with Airflow's masker."""
        if self.arguments is None:
            prepared = prepare_arguments(raw, self.secret_arguments)
            register_secrets(prepared)
            self.arguments = prepared
        return self.arguments

    def validated(
        self, job_name: str, raw: Mapping[str, Any] | str | None, run_options: Mapping[str, Any]
    ) -> tuple[JobArguments, dict[str, Any]]:
        """Return the arguments and the run options read from rendered text, the whole request checked.

        :param job_name: the rendered job name.
        :param raw: the rendered ``arguments``.
        :param run_options: the rendered run option fields, by name.
        """
        arguments = self.prepare(raw)
        if MARKER_ARGUMENT in arguments.values:
            raise GlueJobRunParameterError("arguments", f"{MARKER_ARGUMENT} is reserved for airflow-glue-runs")
        options = rendered_run_options(run_options)
        build_start_job_run_request(job_name, {**arguments.values, MARKER_ARGUMENT: "0" * 40}, **options)
        return arguments, options

    def warnings(self) -> list[str]:
        """Return what to tell the user about the arguments (secret keys named, never their values)."""
        return argument_warnings(self.arguments) if self.arguments is not None else []
