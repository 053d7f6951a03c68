"""Job arguments as users write them: parsing (dict, AWS CLI shorthand, JSON text) and secret masking.

The AWS CLI accepts ``--arguments`` as shorthand (``--day=2024-01-01,--mode=full``) or as JSON text
(``{"--day": "2024-01-01"}``); :func:`parse_arguments` reads both the way the CLI does, after Jinja rendering,
so a value pulled from XCom or ``params`` may be either. Values are then converted with
:func:`~airflow_glue_runs._internal.start.request.normalize_arguments` (the hook's documented rules).

Glue warns that job arguments may be logged. An argument is secret when its name looks sensitive under
Airflow's own rules (``[core] sensitive_var_conn_names`` and the built-in list: ``password``, ``token``,
``secret``, ``api_key``...) or when the user lists it in ``secret_arguments``. Secret values are registered
with Airflow's secrets masker (so task logs redact them) and replaced by ``***`` in everything this project
writes: rendered template fields, XCom, trigger events. Error messages here name keys, never values.
"""

from __future__ import annotations

import dataclasses
import json
import re
import string
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from airflow_glue_runs._internal.compat import mask_secret
from airflow_glue_runs._internal.masking import MASK, masking_settings
from airflow_glue_runs._internal.start.request import normalize_arguments
from airflow_glue_runs.exceptions import GlueJobRunParameterError

__all__ = [
    "MASK",
    "SENSITIVE_NAME_PARTS",
    "JobArguments",
    "argument_warnings",
    "is_sensitive_name",
    "mask_arguments",
    "parse_arguments",
    "parse_shorthand",
    "prepare_arguments",
    "register_secrets",
    "secret_values_in",
    "secret_warning",
    "sensitive_name_rule",
]

_KEY_CHARS = frozenset(string.ascii_letters + string.digits + "-_.#/:")
# The CLI's quoted values: backslash escapes the quote character and itself.
_QUOTED = {
    "'": re.compile(r"'((?:\\\\|\\'|[^'])*)'"),
    '"': re.compile(r'"((?:\\\\|\\"|[^"])*)"'),
}
# The CLI's unquoted value: it may not start with a space, a quote, ',', '=', '[' or '{', and it runs up to an
# unescaped ',' (or a quote, ']' or '}', which the CLI refuses there). '\,' is a literal comma.
_UNQUOTED = re.compile(r"""(?:\\,|[!#-&(-+\--<>-Z\\-z|-\U0010ffff])(?:\\,|[\s!#-&(-+\--\\^-|~-\U0010ffff])*""")


class _ShorthandError(Exception):
    def __init__(self, problem: str, index: int) -> None:
        super().__init__(f"{problem} at character {index + 1}")


class _ShorthandParser:
    """Read ``Key1=v1,Key2=v2`` with the AWS CLI's rules for a map of string to string."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.index = 0

    def parse(self) -> dict[str, str]:
        pairs: dict[str, str] = {}
        while True:
            self._skip_space()
            start = self.index
            key = self._key()
            self._skip_space()
            self._expect("=", "'=' after an argument name")
            self._skip_space()
            if key in pairs:
                raise _ShorthandError(f"argument {key!r} is given twice", start)
            pairs[key] = self._value(key)
            self._skip_space()
            if self._at_end():
                return pairs
            self._expect(",", "',' between arguments")
            if not self._next_is_pair():
                # The CLI reads 'a=b,c' as a list ['b', 'c']; Glue's arguments are strings only.
                raise _ShorthandError(
                    f'the value of {key!r} continues after a comma; quote it ("a,b") or escape the comma (a\\,b)',
                    self.index,
                )

    def _key(self) -> str:
        start = self.index
        while not self._at_end() and self.text[self.index] in _KEY_CHARS:
            self.index += 1
        if self.index == start:
            raise _ShorthandError("expected an argument name (letters, digits and -_.#/:)", start)
        return self.text[start : self.index]

    def _value(self, key: str) -> str:
        if self._at_end():
            return ""
        char = self.text[self.index]
        if char in _QUOTED:
            match = _QUOTED[char].match(self.text, self.index)
            if match is None:
                raise _ShorthandError(f"the quoted value of {key!r} has no closing {char}", self.index)
            self.index = match.end()
            return match.group(1).replace("\\" + char, char).replace("\\\\", "\\")
        if char in "[{":
            raise _ShorthandError(
                f"the value of {key!r} is a shorthand list or structure; Glue arguments are strings, so quote it",
                self.index,
            )
        if char == ",":
            return ""
        match = _UNQUOTED.match(self.text, self.index)
        if match is None:
            raise _ShorthandError(f"unexpected character in the value of {key!r}; quote the value", self.index)
        self.index = match.end()
        return match.group(0).replace("\\,", ",").rstrip()

    def _next_is_pair(self) -> bool:
        """Look ahead: is the next item a new ``key=`` pair rather than more of the previous value."""
        saved = self.index
        try:
            self._skip_space()
            self._key()
            self._skip_space()
            return not self._at_end() and self.text[self.index] == "="
        except _ShorthandError:
            return False
        finally:
            self.index = saved

    def _expect(self, char: str, what: str) -> None:
        if self._at_end() or self.text[self.index] != char:
            found = "the end" if self._at_end() else repr(self.text[self.index])
            raise _ShorthandError(f"expected {what}, found {found}", self.index)
        self.index += 1

    def _skip_space(self) -> None:
        while not self._at_end() and self.text[self.index] in string.whitespace:
            self.index += 1

    def _at_end(self) -> bool:
        return self.index >= len(self.text)


def parse_shorthand(text: str, *, parameter: str = "arguments") -> dict[str, str]:
    """Parse the AWS CLI's shorthand ``Key1=v1,Key2=v2`` into a dict of strings.

    The CLI's rules: names are letters, digits and ``-_.#/:``; a value runs to the next comma, keeps ``=``
    signs, loses trailing spaces, and reads ``\\,`` as a comma; a value in ``"..."`` or ``'...'`` may hold
    anything (``\\"``, ``\\'`` and ``\\\\`` are escapes). A name given twice is an error, and so is a value
    the CLI would read as a list (``a=b,c``), since Glue's arguments are strings.
    """
    try:
        return _ShorthandParser(text).parse()
    except _ShorthandError as err:
        raise GlueJobRunParameterError(
            parameter, f"cannot read the text as AWS CLI shorthand Key1=v1,Key2=v2 or as JSON: {err}"
        ) from None


def parse_arguments(value: object, *, parameter: str = "arguments") -> dict[str, Any]:
    """Return job arguments given as a mapping, as JSON text, or as AWS CLI shorthand text.

    Text that starts with ``{`` is JSON and must hold an object; other non-empty text is shorthand; empty text
    and ``None`` mean no arguments. The values are not converted yet (see :func:`prepare_arguments`).
    """
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    if not isinstance(value, str):
        raise GlueJobRunParameterError(
            parameter,
            f"expected a dict, JSON text or AWS CLI shorthand text (Key1=v1,Key2=v2), got {type(value).__name__}",
        )
    text = value.strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as err:
            # The decoder's message gives the position only, never the text (which may hold a secret).
            raise GlueJobRunParameterError(parameter, f"invalid JSON: {err.msg} at character {err.pos + 1}") from None
        if not isinstance(parsed, dict):
            raise GlueJobRunParameterError(parameter, "JSON text must hold an object of argument names to values")
        return parsed
    if text.startswith("["):
        raise GlueJobRunParameterError(
            parameter, "got a JSON list; expected a JSON object or AWS CLI shorthand Key1=v1,Key2=v2"
        )
    return parse_shorthand(text, parameter=parameter)


SENSITIVE_NAME_PARTS = frozenset(
    {
        "access_key",
        "access_token",
        "api_key",
        "apikey",
        "auth_header",
        "authorization",
        "bearer",
        "connection_string",
        "dsn",
        "keyfile_dict",
        "passphrase",
        "passwd",
        "password",
        "private_key",
        "proxies",
        "proxy",
        "proxy_password",
        "secret",
        "service_account",
        "service_key",
        "token",
        "webhook_url",
    }
)
"""Airflow's built-in sensitive names (``DEFAULT_SENSITIVE_FIELDS`` of Airflow 3.3), kept here so that which
arguments are secret does not depend on the Airflow minor installed."""
_NON_WORD = re.compile(r"\W+")


def is_sensitive_name(name: str) -> bool:
    """Whether an argument called ``name`` holds a secret by its name, the same way on every Airflow 3 minor.

    The name is lower-cased with every run of non-word characters read as ``_`` (so ``--db-password`` reads
    ``_db_password``, ``--api-key`` reads ``_api_key``), and it is sensitive when it contains one of
    :data:`SENSITIVE_NAME_PARTS` or of Airflow's ``[core] sensitive_var_conn_names``. Nothing is sensitive by name
    when ``[core] hide_sensitive_var_conn_fields`` is off. This is Airflow 3.3's rule; Airflow 3.0-3.2 do not read
    dashes as underscores and would leave ``--api-key`` in clear, so the provider applies the rule itself.
    """
    return sensitive_name_rule()(name)


def sensitive_name_rule() -> Callable[[str], bool]:
    """Return :func:`is_sensitive_name` with Airflow's settings read once, for checking many names in a row.

    Airflow's settings come from :func:`~airflow_glue_runs._internal.masking.masking_settings` (read once).
    """
    settings = masking_settings()
    if not settings.hide_sensitive_names:
        return lambda name: False
    parts = SENSITIVE_NAME_PARTS | settings.sensitive_names

    def sensitive(name: str) -> bool:
        normalized = _NON_WORD.sub("_", name.strip().lower())
        return any(part in normalized for part in parts)

    return sensitive


def secret_name_rule(listed: Iterable[str] = ()) -> Callable[[str], bool]:
    """Return whether an argument name holds a secret: sensitive by name, or listed (with or without ``--``)."""
    names, sensitive = _listed_names(listed), sensitive_name_rule()
    return lambda name: _listed(name, names) or sensitive(name)


def _bare(name: str) -> str:
    return name.lstrip("-")


def _listed(name: str, listed: frozenset[str]) -> bool:
    return _bare(name) in listed


@dataclasses.dataclass(frozen=True)
class JobArguments:
    """Job arguments ready for StartJobRun, and which of them are secret.

    :param values: argument name to text, as sent to Glue.
    :param secret_keys: the names whose values are secret (sensitive by name or listed by the user).
    :param listed: the bare names (without leading dashes) the user listed in ``secret_arguments``.
    """

    values: Mapping[str, str]
    secret_keys: frozenset[str]
    listed: frozenset[str] = frozenset()

    def masked(self) -> dict[str, str]:
        """Return the arguments with every secret value replaced by ``***``."""
        return mask_arguments(self.values, self.listed)

    @property
    def secret_values(self) -> tuple[str, ...]:
        """The values of the secret arguments, for :class:`~airflow_glue_runs._internal.masking.Redactor`."""
        return tuple(self.values[key] for key in sorted(self.secret_keys) if self.values[key])

    def keys_without_dashes(self) -> list[str]:
        """Return the argument names that do not start with ``--`` (Glue scripts read ``--name`` arguments)."""
        return sorted(key for key in self.values if not key.startswith("--"))


def _listed_names(secret_arguments: Iterable[str]) -> frozenset[str]:
    return frozenset(_bare(name) for name in secret_arguments)


def check_secret_arguments(value: object, *, parameter: str = "secret_arguments") -> tuple[str, ...]:
    """Check the user's list of secret argument names and return it as a tuple."""
    if isinstance(value, str) or not isinstance(value, Collection):
        raise GlueJobRunParameterError(
            parameter, f"expected a list of argument names such as ['--db-password'], got {type(value).__name__}"
        )
    names = tuple(value)
    for name in names:
        if not isinstance(name, str) or not _bare(name):
            raise GlueJobRunParameterError(parameter, f"argument names must be non-empty strings, got {name!r}")
    return names


def prepare_arguments(
    value: object, secret_arguments: Iterable[str] = (), *, parameter: str = "arguments"
) -> JobArguments:
    """Parse, convert and classify job arguments; raise ``GlueJobRunParameterError`` naming ``parameter``.

    :param value: a mapping, JSON text or AWS CLI shorthand text (see :func:`parse_arguments`).
    :param secret_arguments: names whose values are secret whatever they are called (with or without ``--``).
    """
    values = normalize_arguments(parse_arguments(value, parameter=parameter), parameter=parameter)
    listed, sensitive = _listed_names(secret_arguments), sensitive_name_rule()
    secret = frozenset(key for key in values if _listed(key, listed) or sensitive(key))
    return JobArguments(values=values, secret_keys=secret, listed=listed)


def mask_arguments(arguments: Mapping[str, Any], listed: Collection[str] = ()) -> dict[str, Any]:
    """Return a copy of ``arguments`` whose secret values (sensitive name, or listed) are ``***``.

    Used on anything read back from Glue too (a run's ``Arguments`` include the job's defaults).
    """
    names, sensitive = _listed_names(listed), sensitive_name_rule()
    return {key: MASK if _listed(key, names) or sensitive(key) else value for key, value in arguments.items()}


def secret_values_in(arguments: Mapping[str, Any], listed: Collection[str] = ()) -> tuple[str, ...]:
    """Return the values :func:`mask_arguments` hides in ``arguments`` (e.g. a run's arguments read from Glue).

    A run's ``Arguments`` include the job's default arguments, whose secret values the task never sent.
    """
    masked = mask_arguments(arguments, listed)
    return tuple(
        value
        for key, value in arguments.items()
        if masked[key] == MASK and isinstance(value, str) and value and value != MASK
    )


def register_secrets(arguments: JobArguments) -> None:
    """Register every secret value with Airflow's secrets masker (task process and supervisor)."""
    for key in sorted(arguments.secret_keys):
        value = arguments.values[key]
        if value:
            mask_secret(value)


def argument_warnings(arguments: JobArguments) -> list[str]:
    """Return the warnings to log before a start: secret arguments (names only), names Glue scripts will not see."""
    warnings = [warning] if (warning := secret_warning(arguments)) else []
    if odd := arguments.keys_without_dashes():
        warnings.append(
            f"Job argument(s) {', '.join(odd)} do not start with '--'; Glue scripts read arguments as --name "
            "(getResolvedOptions), so they will probably not see these."
        )
    return warnings


def secret_warning(arguments: JobArguments) -> str | None:
    """Return the warning to log about secret arguments (names only), or ``None`` when there are none."""
    if not arguments.secret_keys:
        return None
    names = ", ".join(sorted(arguments.secret_keys))
    return (
        f"Job argument(s) {names} look secret (a sensitive name under Airflow's [core] sensitive_var_conn_names "
        "rules, or listed in secret_arguments). Their values are masked in Airflow's logs, rendered fields and "
        "XCom, but Glue stores job arguments with the run and may log them. Keep the secret in AWS Secrets "
        "Manager or a Glue connection and pass only its name or ARN as the argument."
    )
