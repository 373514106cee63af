"""Compile every Triton kernel variant for an H100 (sm_90) without a GPU (a child process: no
interpreter): each must build to a cubin, with correctly rounded sqrt/div, no FMA contraction and
no flushed subnormals. Prints one line per variant; exits non-zero on the first failure."""

import inspect

import triton
import triton.language as tl
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource

from adamkit.torch.fused import gpu

BASE = dict(HAS_L2=True, ST0=0, ST1=0, ST2=0, PE=tl.float32, C=tl.float32, BF16=False, ROWS=gpu.ROWS,
            ALIGNED=True)
VARIANTS = [
    ("adam", dict(AMSGRAD=True, ROOT=False), ("*fp32",) * 3, ("*i64",) * 3),
    ("adam", dict(AMSGRAD=True, ROOT=True, ST0=2, ST1=2, ST2=2), ("*i8", "*u8", "*u8"), ("*fp32",) * 3),
    ("adam", dict(AMSGRAD=False, ROOT=False, ST0=1, ST1=1), ("*i16",) * 3, ("*i64",) * 3),
    ("adam", dict(AMSGRAD=False, ROOT=False, PE=tl.float64, C=tl.float64, ALIGNED=False),
     ("*fp64",) * 3, ("*i64",) * 3),
    ("adam", dict(AMSGRAD=False, ROOT=False, PE=tl.int16, BF16=True), ("*i16",) * 3, ("*i64",) * 3),
    ("adamax", dict(HAT=True), ("*fp32",) * 3, ("*i64",) * 3),
    ("nadam", {}, ("*fp32",) * 3, ("*i64",) * 3),
    ("radam", dict(ADAPTIVE=True, ST0=2, ST1=2), ("*i8", "*u8", "*fp32"), ("*fp32",) * 3),
    ("sgd", dict(MOMENTUM=True, NESTEROV=True, FIRST=False), ("*fp32",) * 3, ("*i64",) * 3),
    ("adagrad", dict(ROOT=False), ("*fp32",) * 3, ("*i64",) * 3),
    ("rmsprop", dict(CENTERED=True, MOMENTUM=True, ROOT=True), ("*fp32",) * 3, ("*i64",) * 3),
]

for name, extra, slots, scales in VARIANTS:
    kernel = gpu.KERNELS[name][0]
    params = list(inspect.signature(kernel.fn).parameters)
    fixed = {"tensors": "*i64", "chunks": "*i64", **dict(zip(("s0", "s1", "s2"), slots)),
             **dict(zip(("a0", "a1", "a2"), scales))}
    consts = {**BASE, **extra}
    signature = {p: fixed.get(p, "constexpr" if p.isupper() else "i64") for p in params}
    constexprs = {(params.index(p),): consts[p] for p in params if p.isupper()}
    compiled = triton.compile(ASTSource(fn=kernel, signature=signature, constexprs=constexprs),
                              target=GPUTarget("cuda", 90, 32),
                              options={"enable_fp_fusion": False, "num_warps": gpu.NUM_WARPS})
    ptx = compiled.asm["ptx"]
    assert compiled.asm.get("cubin"), name
    assert "fma." not in ptx and ".ftz" not in ptx, f"{name} {extra}: fma or ftz in the PTX"
    assert "sqrt.approx" not in ptx and "div.full" not in ptx, f"{name} {extra}: approximate math"
    print(name, extra, "ok")
