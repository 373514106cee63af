"""The GPU backend's tests: Triton kernels run on CPU tensors under Triton's interpreter.

``TRITON_INTERPRET=1`` is set here, before anything imports triton or the kernels (``triton.jit``
chooses the interpreter when a kernel is defined). ``ADAMKIT_TRITON_COMPILED=1`` leaves it unset:
the CUDA test runs the same comparisons compiled, on the GPU, in a child pytest with it.
Without triton the Triton tests skip (the foreach tests need torch only).
"""

import os

if os.environ.get("ADAMKIT_TRITON_COMPILED") != "1":
    os.environ["TRITON_INTERPRET"] = "1"
