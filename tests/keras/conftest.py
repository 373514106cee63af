"""Keras needs its backend chosen before it is imported: torch here (no TensorFlow); the JAX
backend's checks run in a subprocess (tests/keras/test_keras_jax_backend.py)."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")


def pytest_configure(config):
    # Keras's torch backend converts with np.array(tensor), which NumPy 2 warns about with this
    # torch; the warning is Keras's (save, fit's logs), not adamkit's.
    config.addinivalue_line(
        "filterwarnings", "ignore:__array__ implementation doesn't accept a copy keyword")
