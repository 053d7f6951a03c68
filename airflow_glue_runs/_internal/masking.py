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

import re
from collections.abc import Iterable

from airflow_glue_runs._internal.compat import airflow_conf

__all__ = ["MASK", "MIN_SECRET_LENGTH", "Redactor", "airflow_min_secret_length", "redact"]

MASK = "***"
"""What a secret value is replaced with (Airflow's own replacement text)."""
MIN_SECRET_LENGTH = 5
"""Values shorter than this are not redacted: Airflow's ``[logging] min_length_masked_secret`` default."""


def airflow_min_secret_length() -> int:
    """Return Airflow's ``[logging] min_length_masked_secret`` (default 5), so both maskers skip the same values."""
    return int(airflow_conf().getint("logging", "min_length_masked_secret", fallback=MIN_SECRET_LENGTH))


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
