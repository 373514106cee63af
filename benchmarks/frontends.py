"""Step time of adamkit's optax and Keras front ends against the library's own Adam.

    python benchmarks/frontends.py [--rounds 15] [--tensors 8] [--size 1024]

Params: ``--tensors`` matrices of ``--size`` x ``--size`` float32 (default 8 x 1M = 8.4M params).
Each part times one Adam update of every param, the library's own optimizer and adamkit's with
the same settings, alternately in each round (paired rounds); printed: the medians and adamkit's
ratio to the library's in the same rounds.

- optax: ``optax.adam`` vs ``adamkit.optax.adam``, the update and ``apply_updates`` under one
  ``jax.jit``, params donated as a training step would;
- Keras (a fresh interpreter per backend, since Keras picks its backend at import):
  ``keras.optimizers.Adam`` vs ``adamkit.keras.Adam`` (whose default ``eps_mode="hat"`` is
  Keras's arithmetic), ``optimizer.apply(grads, variables)`` on the torch and the jax backends.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable


def paired(contenders: dict[str, Callable[[], None]], rounds: int, warmup: int = 3) -> dict[str, float]:
    """Median seconds of each contender over ``rounds`` rounds (each round runs every contender
    once, in turn), after ``warmup`` untimed rounds."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for r in range(warmup + rounds):
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            fn()
            if r >= warmup:
                times[name].append(time.perf_counter() - t0)
    return {name: statistics.median(ts) for name, ts in times.items()}


def report(title: str, medians: dict[str, float]) -> None:
    anchor, ours = medians.values()
    names = list(medians)
    print(f"{title}: {names[0]} {anchor * 1e3:.2f} ms, {names[1]} {ours * 1e3:.2f} ms, "
          f"ratio {ours / anchor:.3f}", flush=True)


def optax_part(args) -> None:
    import jax
    import jax.numpy as jnp
    import numpy as np
    import optax

    import adamkit.optax as ako

    rng = np.random.default_rng(0)
    shape = (args.size, args.size)
    grads = {f"w{i}": jnp.asarray(rng.normal(size=shape), jnp.float32) for i in range(args.tensors)}

    def contender(tx) -> Callable[[], None]:
        params = {k: jnp.asarray(rng.normal(size=shape), jnp.float32) for k in grads}
        state = tx.init(params)

        @jax.jit
        def step(params, state, grads):
            updates, state = tx.update(grads, state, params)
            return optax.apply_updates(params, updates), state

        box = [params, state]

        def run() -> None:
            box[0], box[1] = step(box[0], box[1], grads)
            jax.block_until_ready(box[0])

        return run

    report(f"optax (jit, {args.tensors} x {args.size}x{args.size})",
           paired({"optax.adam": contender(optax.adam(1e-3)),
                   "adamkit.optax.adam": contender(ako.adam(1e-3))}, args.rounds))


def keras_part(args) -> None:
    import keras
    import numpy as np

    import adamkit.keras as akk

    rng = np.random.default_rng(0)
    shape = (args.size, args.size)
    grads = [keras.ops.convert_to_tensor(rng.normal(size=shape).astype("float32"))
             for _ in range(args.tensors)]

    def contender(optimizer) -> Callable[[], None]:
        variables = [keras.Variable(rng.normal(size=shape).astype("float32"))
                     for _ in range(args.tensors)]
        optimizer.build(variables)

        def run() -> None:
            optimizer.apply(grads, variables)
            np.asarray(keras.ops.convert_to_numpy(variables[-1][0, 0]))  # wait for the work

        return run

    report(f"keras {keras.backend.backend()} backend ({args.tensors} x {args.size}x{args.size})",
           paired({"keras.optimizers.Adam": contender(keras.optimizers.Adam(1e-3)),
                   "adamkit.keras.Adam": contender(akk.Adam(1e-3))}, args.rounds))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=15, help="timed rounds (default 15)")
    ap.add_argument("--tensors", type=int, default=8, help="number of param matrices (default 8)")
    ap.add_argument("--size", type=int, default=1024, help="each matrix is SIZE x SIZE (default 1024)")
    ap.add_argument("--part", choices=("all", "optax", "keras"), default="all",
                    help="what to time (default all: optax, then Keras on torch and on jax)")
    args = ap.parse_args()
    if args.part in ("all", "optax"):
        optax_part(args)
    if args.part == "keras":
        keras_part(args)
    elif args.part == "all":
        for backend in ("torch", "jax"):
            subprocess.run([sys.executable, __file__, "--part", "keras", "--rounds", str(args.rounds),
                            "--tensors", str(args.tensors), "--size", str(args.size)],
                           env={**os.environ, "KERAS_BACKEND": backend}, check=True)


if __name__ == "__main__":
    main()
