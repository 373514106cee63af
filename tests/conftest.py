"""Session-wide: Triton kernels run under Triton's interpreter, on CPU tensors.

``TRITON_INTERPRET=1`` must be set before anything imports triton: ``triton.jit`` (triton's own
``tl.max`` and the like included) chooses the interpreter when a function is defined, and torch's
test helpers (``torch.testing._internal``, imported when tests/torch is collected) import triton
early. ``ADAMKIT_TRITON_COMPILED=1`` leaves it unset: tests/torch/fused/gpu's CUDA test runs the same
comparisons compiled, on the GPU, in a child pytest with it.
"""

import os

if os.environ.get("ADAMKIT_TRITON_COMPILED") != "1":
    os.environ["TRITON_INTERPRET"] = "1"
