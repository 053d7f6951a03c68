"""Replace secret values in any text the provider builds from Glue's answers.

Glue's ``ErrorMessage`` and ``StateDetail`` often quote a job's inputs: a failed JDBC login prints the URL with its
password, a script's exception prints the argument it choked on. Airflow's secrets masker redacts task logs in a
real deployment, but not XCom values, not exception texts everywhere, and nothing under ``dag.test()``; so the
provider redacts what it writes itself, with the values it knows are secret
(:attr:`~airflow_glue_runs._internal.start.arguments.JobArguments.secret_values`).

Short values are left alone, as Airflow's masker does (``[logging] min_length_masked_secret``, default 5):
replacing every ``"1"`` or ``"abc"`` in a message would make it unreadable and hide nothing worth hiding.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from collections.abc import Iterable

from airflow_glue_runs._internal.compat import airflow_conf

__all__ = [
    "MASK",
    "MIN_SECRET_LENGTH",
    "MaskingSettings",
    "Redactor",
    "airflow_min_secret_length",
    "masking_settings",
    "redact",
]

MASK = "***"
"""What a secret value is replaced with (Airflow's own replacement text)."""
MIN_SECRET_LENGTH = 5
"""Values shorter than this are not redacted: Airflow's ``[logging] min_length_masked_secret`` default."""


@dataclasses.dataclass(frozen=True)
class MaskingSettings:
    """Airflow's settings that decide what is secret and what is masked, as the provider applies them."""

    hide_sensitive_names: bool
    """``[core] hide_sensitive_var_conn_fields``: whether any name is secret by the way it is called."""
    sensitive_names: frozenset[str]
    """``[core] sensitive_var_conn_names``, lower-cased: more name parts that make an argument secret."""
    min_length: int
    """``[logging] min_length_masked_secret``: the shortest value masked."""


_SETTING_VARIABLES = (
    "AIRFLOW__CORE__HIDE_SENSITIVE_VAR_CONN_FIELDS",
    "AIRFLOW__CORE__SENSITIVE_VAR_CONN_NAMES",
    "AIRFLOW__LOGGING__MIN_LENGTH_MASKED_SECRET",
)


def masking_settings() -> MaskingSettings:
    """Return Airflow's masking settings, read once per process and again when their environment variables change.

    A triggerer masks on every resolution, a thousand in a second: reading three settings through Airflow's
    config parser each time stalled its event loop (Airflow's own masker reads them once per process too).
    """
    return _read_masking_settings(tuple(os.environ.get(name) for name in _SETTING_VARIABLES))


@functools.lru_cache(maxsize=8)
def _read_masking_settings(_environment: tuple[str | None, ...]) -> MaskingSettings:
    conf = airflow_conf()
    names = conf.get("core", "sensitive_var_conn_names", fallback="") or ""
    return MaskingSettings(
        hide_sensitive_names=bool(conf.getboolean("core", "hide_sensitive_var_conn_fields", fallback=True)),
        sensitive_names=frozenset(part.strip().lower() for part in names.split(",") if part.strip()),
        min_length=int(conf.getint("logging", "min_length_masked_secret", fallback=MIN_SECRET_LENGTH)),
    )


def airflow_min_secret_length() -> int:
    """Return Airflow's ``[logging] min_length_masked_secret`` (default 5), so both maskers skip the same values."""
    return masking_settings().min_length


class Redactor:
    """Replace every occurrence of the given secret values in a text by ``***``; build once, call per text.

    Longer values are matched first, so a secret that contains another secret is hidden whole. Values shorter
    than ``min_length`` and empty values are ignored.

    :param secret_values: the values to hide (e.g. ``JobArguments.secret_values``).
    :param min_length: the shortest value that is redacted (default :data:`MIN_SECRET_LENGTH`).
    """

    def __init__(self, secret_values: Iterable[str], *, min_length: int = MIN_SECRET_LENGTH) -> None:
        values = sorted({value for value in secret_values if value and len(value) >= min_length}, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(value) for value in values)) if values else None

    def __bool__(self) -> bool:
        """Whether there is anything to redact."""
        return self._pattern is not None

    def __call__(self, text: str) -> str:
        """Return ``text`` with every secret value replaced by ``***``."""
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)

    def optional(self, text: str | None) -> str | None:
        """Redact ``text``, keeping ``None`` as ``None`` (for optional fields such as ``ErrorMessage``)."""
        return None if text is None else self(text)


def redact(text: str, secret_values: Iterable[str], *, min_length: int = MIN_SECRET_LENGTH) -> str:
    """Return ``text`` with every secret value replaced by ``***`` (longest values first, short ones ignored).

    For many texts with the same secrets (forwarded log lines), build one :class:`Redactor` instead.

    :param text: any text built from Glue's answers: a message, an exception text, a log line.
    :param secret_values: the values to hide.
    :param min_length: the shortest value that is redacted (default :data:`MIN_SECRET_LENGTH`, as Airflow).
    """
    return Redactor(secret_values, min_length=min_length)(text)
