"""OpenLineage: link a Glue run's Spark lineage to its Airflow task, and report the run in the task's own lineage.

**Parent injection.** The OpenLineage Spark listener on the Glue job reads ``spark.openlineage.parent*`` and
``spark.openlineage.rootParent*`` from the Spark configuration, which Glue takes from the ``--conf`` job argument.
The properties are built by ``airflow.providers.common.compat.openlineage.utils.spark`` (the values the
OpenLineage provider itself uses for the task instance). A run's ``--conf`` argument *replaces* the job's
``DefaultArguments["--conf"]`` (arguments merge key by key), so the run-level ``--conf`` sent here is the job's
``--conf``, then the user's (whose keys win over the job's), then the injected properties that neither sets:
nothing the job or the user set is lost (a job-level ``spark.extraListeners`` keeps working). That takes one
GetJob, made only when injection is on. When ``--conf`` is one of the job's ``NonOverridableArguments``, Glue
would drop the run's ``--conf``: nothing is injected and a warning says so.

**Transport injection** (only when asked) adds the listener's HTTP transport. Its API key would sit in the run's
arguments in clear (visible in GetJobRun, the console and CloudTrail), so it is registered with Airflow's secrets
masker, ``--conf`` is masked in XCom, and a warning recommends configuring the transport on the job instead. A
secret property of the job's own ``--conf`` (an API key configured on the job), which the merged run-level
``--conf`` repeats, is treated the same way.

Nothing here imports OpenLineage at module level; without the OpenLineage provider (or with it disabled) the
arguments are sent exactly as the user gave them. The facets are built from a :class:`LineageSource` in
:mod:`airflow_glue_runs._internal.lineage.facets`, which needs OpenLineage and is imported only by the listener's
calls.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from airflow_glue_runs._internal.compat import airflow_conf, mask_secret
from airflow_glue_runs._internal.masking import airflow_min_secret_length, redact
from airflow_glue_runs._internal.start.arguments import MASK, JobArguments, is_sensitive_name, sensitive_name_rule
from airflow_glue_runs._internal.start.options import check_flag

if TYPE_CHECKING:
    from airflow_glue_runs._internal.start.reattach import Logger
    from airflow_glue_runs.hooks import GlueJobRunHook
    from airflow_glue_runs.job_run import JobRun

__all__ = [
    "CONF_ARGUMENT",
    "PARENT_OPTION",
    "TRANSPORT_OPTION",
    "InjectingTask",
    "LineageSource",
    "conf_keys",
    "inject_openlineage",
    "injection_default",
    "mask_secret_values",
    "merge_conf",
    "optional_flag",
    "secret_values",
]

CONF_ARGUMENT = "--conf"
"""The Glue job argument that carries Spark properties: ``k1=v1 --conf k2=v2 ...``."""
PARENT_OPTION = "spark_inject_parent_job_info"
"""``[openlineage]`` option: the default of ``openlineage_inject_parent_job_info``."""
TRANSPORT_OPTION = "spark_inject_transport_info"
"""``[openlineage]`` option: the default of ``openlineage_inject_transport_info``."""

_SEPARATOR = " --conf "
_SPLIT = re.compile(r"(?:^|\s+)--conf\s+")
_API_KEY_SUFFIX = ".auth.apiKey"
_API_KEY_TEXT = re.compile(r"(auth\.apiKey=)(?:Bearer )?\S+")


def optional_flag(parameter: str, value: object) -> bool | None:
    """Check an injection switch: True, False, or None (the ``[openlineage]`` default, read at execute time)."""
    return None if value is None else check_flag(parameter, value)


def injection_default(option: str) -> bool:
    """Return ``[openlineage] option`` of the running Airflow (False when unset), as the Amazon provider does.

    Read when the task executes, on the worker whose OpenLineage listener reports the task.
    """
    return bool(airflow_conf().getboolean("openlineage", option, fallback=False))


def _parts(text: str | None) -> list[str]:
    return [part.strip() for part in _SPLIT.split((text or "").strip()) if part.strip()]


def _key(part: str) -> str | None:
    key, equals, _ = part.partition("=")
    return key.strip() if equals else None


def conf_keys(text: str | None) -> list[str]:
    """Return the Spark property names set in a ``--conf`` value, in order."""
    return [key for part in _parts(text) if (key := _key(part)) is not None]


def merge_conf(job_conf: str | None, user_conf: str | None) -> str:
    """Return the job's ``--conf`` followed by the user's; a property both set keeps only the user's value.

    Parts without ``=`` are kept as they are.
    """
    user_parts = _parts(user_conf)
    user_keys = {_key(part) for part in user_parts} - {None}
    kept = [part for part in _parts(job_conf) if _key(part) not in user_keys]
    return _SEPARATOR.join([*kept, *user_parts])


def mask_secret_values(text: str, secrets: Iterable[str]) -> str:
    """Return ``text`` with every secret value, and any OpenLineage API key property, replaced by ``***``."""
    text = redact(text, secrets, min_length=airflow_min_secret_length())
    return _API_KEY_TEXT.sub(rf"\g<1>{MASK}", text)


def _helpers() -> tuple[
    Callable[[dict[str, str], Any], dict[str, str]], Callable[[dict[str, str], Any], dict[str, str]]
]:
    from airflow.providers.common.compat.openlineage.utils.spark import (
        inject_parent_job_information_into_glue_arguments,
        inject_transport_information_into_glue_arguments,
    )

    return inject_parent_job_information_into_glue_arguments, inject_transport_information_into_glue_arguments


def _openlineage_ready(log: Logger) -> bool:
    """Whether the OpenLineage provider (with the Glue helpers) is installed and enabled."""
    try:
        from airflow.providers.openlineage import conf as openlineage_conf

        _helpers()
    except ImportError:
        log.warning(
            "OpenLineage injection is on but the OpenLineage provider's Glue helpers cannot be imported (they need "
            "apache-airflow-providers-openlineage>=2.14): the Glue run is started without OpenLineage properties."
        )
        return False
    if openlineage_conf.is_disabled():
        log.info("OpenLineage is disabled in this Airflow: the Glue run is started without OpenLineage properties.")
        return False
    return True


def inject_openlineage(arguments: JobArguments, context: Mapping[str, Any], task: InjectingTask) -> JobArguments:
    """Return the arguments to send with OpenLineage properties merged into ``--conf`` (see the module).

    The user's arguments come back unchanged (and GetJob is not called) when neither injection is on, when
    OpenLineage is missing or disabled; unchanged too when GetJob fails, ``--conf`` is non-overridable, or the
    job and the user already set every property.

    :param arguments: the user's prepared arguments.
    :param context: the task's Airflow context (the helpers read its ``ti``).
    :param task: the operator: its job, hook (for GetJob), log and injection switches (``None``: the
        ``[openlineage]`` defaults).
    """
    parent, transport = task.openlineage_inject_parent_job_info, task.openlineage_inject_transport_info
    parent = injection_default(PARENT_OPTION) if parent is None else parent
    transport = injection_default(TRANSPORT_OPTION) if transport is None else transport
    job_name, log = task.job_name, task.log
    if not (parent or transport) or not _openlineage_ready(log):
        return arguments
    try:
        job = task.hook.get_job(job_name)
    except Exception as error:
        log.warning(
            "Could not read Glue job %s (GetJob) to merge OpenLineage properties; not injecting: %s", job_name, error
        )
        return arguments
    if CONF_ARGUMENT in (job.get("NonOverridableArguments") or {}):
        log.warning(
            "Glue job %s sets --conf in its NonOverridableArguments, so a run cannot change it: OpenLineage "
            "properties are not injected. Set the spark.openlineage.* properties in the job's own --conf.",
            job_name,
        )
        return arguments
    base = merge_conf((job.get("DefaultArguments") or {}).get(CONF_ARGUMENT), arguments.values.get(CONF_ARGUMENT))
    inject_parent, inject_transport = _helpers()
    properties: dict[str, str] = {CONF_ARGUMENT: base} if base else {}
    if parent:
        properties = inject_parent(properties, context)
    if transport:
        properties = inject_transport(properties, context)
    taken = set(conf_keys(base))
    added = [part for part in _parts(properties.get(CONF_ARGUMENT)) if _key(part) not in taken]
    if not added:
        return arguments
    conf = _SEPARATOR.join([base, *added]) if base else _SEPARATOR.join(added)
    log.info("Injected OpenLineage properties into --conf: %s", ", ".join(str(_key(part)) for part in added))
    injected = dataclasses.replace(arguments, values={**arguments.values, CONF_ARGUMENT: conf})
    secrets = [part for part in _parts(conf) if _is_secret_property(str(_key(part)))]
    if not secrets:
        return injected
    if any(part in added for part in secrets):
        log.warning(
            "OpenLineage transport injection put the transport's API key into the Glue run's --conf argument: it "
            "is masked in Airflow, but Glue keeps job arguments with the run (GetJobRun, console, CloudTrail). "
            "Prefer configuring spark.openlineage.transport.* on the Glue job, with the key from AWS Secrets Manager."
        )
    else:
        log.warning(
            "The run-level --conf repeats the job's (Glue replaces the job's --conf with the run's), including "
            "secret properties %s: they are masked in Airflow, but Glue keeps the run's arguments with the run.",
            ", ".join(str(_key(part)) for part in secrets),
        )
    return _hide_secrets(injected, [part.partition("=")[2] for part in secrets])


def _is_secret_property(key: str) -> bool:
    return key.endswith(_API_KEY_SUFFIX) or is_sensitive_name(key)


def _hide_secrets(arguments: JobArguments, values: Collection[str]) -> JobArguments:
    """Register secret property values with the secrets masker and treat ``--conf`` as a secret argument."""
    for value in values:
        mask_secret(value)
        mask_secret(value.removeprefix("Bearer "))
    bare = CONF_ARGUMENT.lstrip("-")
    return dataclasses.replace(
        arguments, secret_keys=arguments.secret_keys | {CONF_ARGUMENT}, listed=arguments.listed | {bare}
    )


class InjectingTask(Protocol):
    """What :func:`inject_openlineage` reads from the operator."""

    job_name: str
    openlineage_inject_parent_job_info: bool | None
    openlineage_inject_transport_info: bool | None

    @property
    def hook(self) -> GlueJobRunHook: ...

    @property
    def log(self) -> Logger: ...


@dataclasses.dataclass(frozen=True, kw_only=True)
class LineageSource:
    """What the task knows about its Glue run when the OpenLineage listener asks for facets.

    :param job_name: the Glue job.
    :param region: the AWS Region of the run.
    :param run_id: the run's id, ``None`` when no run was started or found.
    :param run: the run as last read (or from the trigger's event), ``None`` if never read.
    :param secrets: values masked in the texts taken from Glue (Glue's ErrorMessage).
    :param job_result: the run's job result (masked), when the task took one.
    """

    job_name: str
    region: str | None
    run_id: str | None = None
    run: JobRun | None = None
    secrets: tuple[str, ...] = ()
    job_result: dict[str, Any] | None = None

    @classmethod
    def of(
        cls,
        job_name: str,
        hook: GlueJobRunHook,
        run_id: str | None,
        run: JobRun | None,
        arguments: JobArguments | None = None,
        *,
        job_result: dict[str, Any] | None = None,
    ) -> LineageSource:
        """Describe the run of a task; the region is the hook's (already known once the task saw its run).

        The secrets to mask are the values of ``arguments``' secret keys and of the run's own arguments (as
        Glue reports them, job defaults included) whose names look sensitive.
        """
        run_id = run.id if run is not None else run_id
        region = hook.conn_region_name if run_id is not None else None
        seen = (run.arguments if run is not None else None) or {}
        rule = sensitive_name_rule()
        sensitive = JobArguments(values=seen, secret_keys=frozenset(k for k in seen if rule(k)))
        secrets = (*secret_values(arguments), *secret_values(sensitive))
        return cls(job_name=job_name, region=region, run_id=run_id, run=run, secrets=secrets, job_result=job_result)


def secret_values(arguments: JobArguments | None) -> tuple[str, ...]:
    """Return the values of the secret arguments (the texts to mask in what Glue reports)."""
    if arguments is None:
        return ()
    return tuple(arguments.values[key] for key in sorted(arguments.secret_keys) if arguments.values.get(key))
