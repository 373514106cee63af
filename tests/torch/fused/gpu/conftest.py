"""The GPU backend's tests: Triton kernels run on CPU tensors under Triton's interpreter
(``TRITON_INTERPRET=1``, set for the whole session by tests/conftest.py). Without triton the Triton
tests skip (the foreach tests need torch only).
"""
