"""Command-line values that come from `make`: `ARGS=...` reaches a program as the environment
variable REASON_LIB_ARGS, never through the shell, and is split here as a shell would split it
(quotes honoured), so no value typed after `make` is run as a command. The variable is removed
once read: a program this one starts (the runner training a missing base model) does not get the
same arguments again."""

from __future__ import annotations

import os
import shlex

VARIABLE = "REASON_LIB_ARGS"


def with_make_args(argv: list[str]) -> list[str]:
    """`argv` followed by the words of REASON_LIB_ARGS (then unset)."""
    text = os.environ.pop(VARIABLE, "")
    try:
        return [*argv, *shlex.split(text)]
    except ValueError as e:
        raise SystemExit(f"error: ARGS={text!r}: {e} (quote a value with spaces as '...')") from None
