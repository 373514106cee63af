"""The cost of recording Adam's internals in ``adamkit.lab.run``: the earlier way (calling
``opt.internals()`` after every step, kept here as ``old_record``) against the engine's (copying
the two moments per step, m̂/v̂/effective lr/update computed for all steps after the loop), in one
process on the same runs: the page's race of 4 optimizers x 1,000 steps with internals for Adam.

    PYTHONPATH=src python benchmarks/lab_internals.py
"""

import time

import numpy as np

import adamkit.lab.engine as E
from adamkit import rules

OPTIMIZERS = ("adam", "sgd", "momentum", "rmsprop")


def old_record(recorded, opt, t, steps, shape):
    if opt.rule.name in rules.ADAM_FAMILY:
        values = opt.internals()
        values = {k: values[k] for k in ("m_hat", "v_hat", "effective_lr", "update")}
    else:
        values = next(iter(opt.state.values()), {})
    for k, v in values.items():
        if k not in recorded:
            recorded[k] = np.full((steps, *shape), np.nan)
        recorded[k][t] = np.broadcast_to(v, shape)


def race(internals: bool):
    return [E.run("rosenbrock", o, steps=1000, internals=internals and o == "adam")
            for o in OPTIMIZERS]


def best(f, n=21) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        f()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    new_record = E._record
    plain = best(lambda: race(False))
    E._record = old_record
    old = best(lambda: race(True))
    r_old = race(True)[0]
    E._record = new_record
    new = best(lambda: race(True))
    r_new = race(True)[0]
    assert all(np.array_equal(r_old.internals[k], r_new.internals[k]) for k in r_old.internals)
    print("page race, 4 optimizers x 1000 steps, internals for adam (best of 21):")
    print(f"  no internals {plain * 1e3:.1f} ms; old {old * 1e3:.1f} ms; new {new * 1e3:.1f} ms")
    print(f"  recording cost old {(old - plain) * 1e3:.1f} ms -> new {(new - plain) * 1e3:.1f} ms "
          f"(ratio {(old - plain) / (new - plain):.1f}x); whole race old/new = {old / new:.2f}; "
          "internals identical")


if __name__ == "__main__":
    main()
