"""The one way every command line here (sf_maze, probing, dreamer) reports bad input: one line on
stderr and exit status 2 (argparse's for a usage error), before any process or folder is made.

Below every other package: probing and dreamer use it without importing a trainer.
"""
import argparse
import functools
import os
import sys
from typing import Callable, Optional


class InputError(ValueError):
    pass


USAGE_ERROR = 2  # argparse's exit status for bad arguments


def report_input_error(prog: str, error) -> int:
    """Prints `prog: error: ...` as one line on stderr; returns USAGE_ERROR."""
    print(f"{prog}: error: {' '.join(str(error).split())}", file=sys.stderr)
    return USAGE_ERROR


def input_errors_exit_2(prog: str) -> Callable:
    """Decorates a command's main(): InputError, and SystemExit with a message (what library code
    raises for bad input), become one line and USAGE_ERROR; main()'s None becomes 0."""
    def decorate(main: Callable) -> Callable:
        @functools.wraps(main)
        def wrapped(*args, **kwargs) -> int:
            try:
                status = main(*args, **kwargs)
            except InputError as error:
                return report_input_error(prog, error)
            except SystemExit as error:
                if isinstance(error.code, str):
                    return report_input_error(prog, error.code)
                raise
            return 0 if status is None else status
        return wrapped
    return decorate


def check_at_least(minimum: float, **flags) -> None:
    """InputError naming the first flag (--name=value) below `minimum`; None values are not given."""
    for name, value in flags.items():
        if value is not None and value < minimum:
            raise InputError(f"--{name}={value}; pass at least {minimum}")


def check_writable_folder(flag: str, folder: str, value: Optional[str] = None) -> None:
    """InputError unless `folder` exists as a writable folder or could be made (checked on its
    nearest existing parent, which is left as it is): a run must not find out only at its end."""
    value = folder if value is None else value  # what the user passed, for the message
    parent = os.path.abspath(folder or ".")
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise InputError(f"{flag}={value}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{flag}={value}: {parent} cannot be written; pass a writable folder")


class BoolValueError(ValueError, argparse.ArgumentTypeError):
    """A ValueError that argparse prints as it is ("argument --x: expected True or False, got 'maybe'")
    instead of its generic "invalid parse_bool value"."""


def parse_bool(value) -> bool:
    """True/False from a flag's text (true/false, 1/0, yes/no, any case); BoolValueError otherwise."""
    if isinstance(value, bool):
        return value
    lowered = str(value).lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise BoolValueError(f"expected True or False, got {value!r}")
