"""Benchmark presets: the shapes of parameter sets that stress an Adam step differently.

- ``big``: 4 tensors of 16M elements: pure bandwidth (torch's fused kernel is at the limit here).
- ``transformer``: a GPT-like stack, ~74.6M params in 276 tensors (17 layers of width 512, a
  40,000-token embedding): mostly large matrices, plus a long tail of biases and norms.
- ``many-small``: 2,000 tensors of 1,000 elements: per-tensor dispatch cost dominates.
- ``mlp``: a training iteration of a deep MLP (forward, backward, step, zero_grad), where the
  optimizer is one part of the time.

``quick=True`` scales every preset down (for CI and tests); the shapes keep their character.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from adamkit.errors import choice


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    kind: str  # "step": optimizer.step() on given shapes; "train": a whole training iteration
    shapes: tuple = ()
    mlp_widths: tuple = ()
    batch: int = 0


def _transformer_shapes(layers: int, width: int, vocab: int, context: int) -> tuple:
    shapes: list[tuple[int, ...]] = [(vocab, width), (context, width)]
    for _ in range(layers):
        for _ in range(4):  # q, k, v, output projections and their biases
            shapes += [(width, width), (width,)]
        shapes += [(width,), (width,), (width,), (width,)]  # two layer norms
        shapes += [(4 * width, width), (4 * width,), (width, 4 * width), (width,)]  # the MLP
    return tuple(shapes + [(width,), (width,)])  # final norm


# Peak memory per parameter, measured on CPU (RSS of `run_preset`, 16M params as 4 x 4M tensors,
# and the mlp preset): the anchor torch-fused with the shared grads, initial params and the
# streaming-copy buffers, then each further contender's own params and states; the train kind
# adds a model, its gradients and activations per contender.
BYTES_PER_PARAM = {"step": (32, 12), "train": (36, 17)}  # kind -> (anchor and buffers, per extra)
BASE_BYTES = 400e6  # the interpreter, torch and NumPy themselves


def params(preset: Preset) -> int:
    """The number of parameters the preset's optimizers update."""
    if preset.shapes:
        return sum(math.prod(s) for s in preset.shapes)
    w = preset.mlp_widths
    return sum(a * b + b for a, b in zip(w[:-1], w[1:], strict=False))


def memory_bytes(preset: Preset, contenders: int) -> float:
    """Estimated peak memory of running ``preset`` with ``contenders`` contenders (anchor
    included): params, gradients, states of every contender, the copy reference."""
    anchor, extra = BYTES_PER_PARAM[preset.kind]
    return BASE_BYTES + params(preset) * (anchor + extra * max(contenders - 1, 0))


def get(name: str, quick: bool = False) -> Preset:
    """The preset called ``name`` (full size, or scaled down with ``quick``)."""
    if name not in PRESETS:
        raise choice("preset", name, PRESETS)
    return (QUICK if quick else PRESETS)[name]


PRESETS = {
    "big": Preset("big", "4 x 16M params", "step", shapes=((16_000_000,),) * 4),
    "transformer": Preset("transformer", "GPT-like: 17 layers x 512 wide, 40k vocab", "step",
                          shapes=_transformer_shapes(17, 512, 40_000, 1024)),
    "many-small": Preset("many-small", "2,000 x 1,000 params", "step",
                         shapes=((1_000,),) * 2_000),
    "mlp": Preset("mlp", "training iteration, MLP 784-(1024x8)-10, batch 128", "train",
                  mlp_widths=(784,) + (1024,) * 8 + (10,), batch=128),
}
QUICK = {
    "big": Preset("big", "4 x 256k params (quick)", "step", shapes=((262_144,),) * 4),
    "transformer": Preset("transformer", "GPT-like: 2 layers x 64 wide (quick)", "step",
                          shapes=_transformer_shapes(2, 64, 1_000, 128)),
    "many-small": Preset("many-small", "200 x 1,000 params (quick)", "step",
                         shapes=((1_000,),) * 200),
    "mlp": Preset("mlp", "training iteration, MLP 64-(128x3)-10 (quick)", "train",
                  mlp_widths=(64,) + (128,) * 3 + (10,), batch=32),
}
