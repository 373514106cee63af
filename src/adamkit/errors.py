"""The one error type a user of the command line is meant to see."""


class UsageError(ValueError):
    """Bad input from a user: the CLI prints the message on one line and exits with status 2.

    The message names the bad value and the valid ones, e.g.
    ``unknown function 'rosenbrok'; valid: beale, booth, ...``.
    """


def choice(kind: str, value: object, valid) -> UsageError:
    """A UsageError for a value that is not one of ``valid`` (listed sorted in the message)."""
    return UsageError(f"unknown {kind} {value!r}; valid: {', '.join(sorted(map(str, valid)))}")
