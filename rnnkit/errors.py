"""The one exception type that the CLI turns into a one-line message and exit code 2."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UserError(Exception):
    """A problem with the user's input, options or files (not a bug in rnnkit).

    The CLI prints ``rnnkit: error: <message>`` on one line and exits with code 2.
    """


def closest(name: str, choices: Iterable[str]) -> str:
    """A ' (did you mean X?)' hint for a misspelt name, or '' when nothing is close."""
    match = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def unknown(what: str, name: str, choices: Iterable[str]) -> UserError:
    """The error for a name that is not one of ``choices``: lists them and suggests the closest."""
    options = sorted(choices)
    return UserError(
        f"unknown {what} '{name}'{closest(name, options)}; choose one of: {', '.join(options)}"
    )
