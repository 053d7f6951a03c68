"""``getResolvedOptions`` as Glue's ``awsglue.utils`` plays it, for local Python shell runs (standard library only).

Written from the behaviour of Glue's own function (aws-glue-libs), not copied from it:

- ``args`` is ``sys.argv``: the script path, then ``--name value`` or ``--name=value`` pairs; ``options`` are the
  names wanted, without the dashes. Every one of them is required: a missing one raises
  :class:`GlueArgumentError` (argparse's message, e.g. ``the following arguments are required: --day``).
- Arguments not asked for are ignored. The answer also holds what Glue always resolves: ``job_bookmark_option``
  (``job-bookmark-disable`` unless given), ``job_bookmark_from`` and ``job_bookmark_to``, ``JOB_ID``,
  ``JOB_RUN_ID``, ``SECURITY_CONFIGURATION``, ``encryption_type``, ``TempDir`` and ``RedshiftTempDir`` (each the
  other's value when only one is given), None where not given. ``JOB_NAME`` is there only when asked for.
- Asking for a reserved name (``job-bookmark-option``, ``continuation-option``, ``job-bookmark-from``,
  ``job-bookmark-to``, ``JOB_ID``, ``JOB_RUN_ID``, ``SECURITY_CONFIGURATION``, ``encryption-type``) raises
  RuntimeError.
- A dashed name comes back with underscores (``--my-key`` is ``my_key``), as argparse names it.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any, NoReturn

__all__ = ["GlueArgumentError", "GlueArgumentParser", "getResolvedOptions"]

_BOOKMARK_OPTION = "--job-bookmark-option"
_BOOKMARK_CHOICES = ("job-bookmark-enable", "job-bookmark-pause", "job-bookmark-disable")
_CONTINUATION_OPTION = "--continuation-option"
_CONTINUATION_CHOICES = ("continuation-enabled", "continuation-readonly", "continuation-ignore")
_RANGE_OPTIONS = ("--job-bookmark-from", "--job-bookmark-to")
_ID_OPTIONS = ("--JOB_ID", "--JOB_RUN_ID", "--SECURITY_CONFIGURATION")  # JOB_NAME is not reserved
_ENCRYPTION_OPTION = "--encryption-type"
_TEMP_DIRS = ("RedshiftTempDir", "TempDir")


class GlueArgumentError(Exception):
    """An argument Glue's parser refuses, e.g. a required option that is missing."""


class GlueArgumentParser(argparse.ArgumentParser):
    """An argument parser that raises :class:`GlueArgumentError` instead of exiting."""

    def error(self, message: str) -> NoReturn:
        """Raise instead of printing the usage and exiting."""
        raise GlueArgumentError(message)


def getResolvedOptions(args: Sequence[str], options: Sequence[str]) -> dict[str, Any]:
    """Return the job arguments named in ``options`` (all required) and the ones Glue always resolves.

    :param args: the script's command line, ``sys.argv``.
    :param options: the names wanted, without the leading ``--``.
    """
    reserved = [_BOOKMARK_OPTION, _CONTINUATION_OPTION, *_RANGE_OPTIONS, *_ID_OPTIONS, _ENCRYPTION_OPTION]
    for option in reserved:
        if option[2:] in options:
            raise RuntimeError(f"Using reserved arguments {option}")
    parser = GlueArgumentParser()
    parser.add_argument(_BOOKMARK_OPTION, choices=_BOOKMARK_CHOICES, required=False)
    parser.add_argument(_CONTINUATION_OPTION, choices=_CONTINUATION_CHOICES, required=False)
    for option in (*_RANGE_OPTIONS, *_ID_OPTIONS):
        parser.add_argument(option, required=False)
    parser.add_argument(_ENCRYPTION_OPTION, choices=("sse-s3",))
    for name in _TEMP_DIRS:
        parser.add_argument(f"--{name}", required=False)
    for option in options:
        if option not in _TEMP_DIRS:
            parser.add_argument(f"--{option}", required=True)
    parsed, _unknown = parser.parse_known_args(list(args[1:]))
    resolved = vars(parsed)
    if resolved["TempDir"] is not None:
        resolved["RedshiftTempDir"] = resolved["TempDir"]
    elif resolved["RedshiftTempDir"] is not None:
        resolved["TempDir"] = resolved["RedshiftTempDir"]
    continuation = resolved.pop("continuation_option")
    if resolved["job_bookmark_option"] is None:
        # The old continuation option maps, by position, onto the bookmark option; neither means disabled.
        index = _CONTINUATION_CHOICES.index(continuation) if continuation is not None else 2
        resolved["job_bookmark_option"] = _BOOKMARK_CHOICES[index]
    absent = [option for option in _RANGE_OPTIONS if resolved[option[2:].replace("-", "_")] is None]
    if resolved["job_bookmark_option"] == "job-bookmark-pause":
        if len(absent) == 1:
            raise RuntimeError(f"Missing option or value for {absent[0]}")
    elif not absent:
        raise RuntimeError("Invalid option(s)" + " ".join(_RANGE_OPTIONS))
    return resolved
