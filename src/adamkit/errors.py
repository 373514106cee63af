"""The errors a user is meant to see: the CLI prints their message on one line, never a traceback.

Everything else (internal bugs included) keeps its traceback.
"""


class UsageError(ValueError):
    """Bad input from a user: the CLI prints the message on one line and exits with status 2.

    The message names the bad value and the valid ones, e.g.
    ``unknown function 'rosenbrok'; valid: beale, booth, ...``.
    """


class HyperparameterError(UsageError):
    """An invalid hyperparameter value, named with its valid range or choices.

    A ``ValueError`` (as torch.optim raises for bad hyperparameters), and a :class:`UsageError`, so
    the CLI shows it as one line.
    """


def choice(kind: str, value: object, valid) -> UsageError:
    """A UsageError for a value that is not one of ``valid`` (listed sorted in the message)."""
    return UsageError(f"unknown {kind} {value!r}; valid: {', '.join(sorted(map(str, valid)))}")
