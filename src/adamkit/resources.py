"""What a command asks of the machine, checked up front: memory, threads.

Memory: a run that cannot fit should stop at once with one line naming the value and the limit, not
swap for minutes or be killed by the OOM killer. Available memory is Linux's ``MemAvailable``
(``/proc/meminfo``: free memory plus caches the kernel can drop); where it cannot be read, no
check is made.
"""

from __future__ import annotations

import os

from adamkit.errors import UsageError

# More threads than this is a typo, not a setting: each torch thread is an OS thread with its own
# stack, and past the core count they only wait on each other.
MAX_THREADS = max(256, os.cpu_count() or 1)


def check_threads(n: int | None, flag: str = "--threads") -> None:
    """A UsageError naming the valid range unless ``n`` is None or 1..MAX_THREADS."""
    if n is not None and not 1 <= n <= MAX_THREADS:
        raise UsageError(f"{flag} must be >= 1 and <= {MAX_THREADS}, got {n} "
                         f"(this machine has {os.cpu_count()} cores)")


def available_bytes() -> int | None:
    """``MemAvailable`` from ``/proc/meminfo`` in bytes, or None where it cannot be read."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def show(n: float) -> str:
    """Bytes for people: ``7.4 GB``, ``512 MB``."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n / 1e3:.3g} kB"


def check_memory(need: float, what: str, hint: str) -> None:
    """A UsageError when ``need`` bytes exceed the available memory.

    The message reads ``{what} needs ~N GB of memory, more than the M GB available; {hint}``:
    ``what`` names the value (``--steps 100000000``), ``hint`` the limit or the way out.
    """
    available = available_bytes()
    if available is not None and need > available:
        raise UsageError(f"{what} needs ~{show(need)} of memory, more than the "
                         f"{show(available)} available; {hint}")
