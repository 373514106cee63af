"""Source slide 12: Adam with learning-rate decay through Keras's LearningRateScheduler; the
seed's ``lr * tf.math.exp(-0.1)`` is ``lr * math.exp(-0.1)`` (no TensorFlow). The same schedule
also exists as ``adamkit.schedules.SeedExpDecay``, usable as ``akk.Adam(schedule=...)``."""

import math
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import adamkit.keras as akk  # noqa: E402


def lr_schedule(epoch, lr, start=50):
    return lr if epoch < start else lr * math.exp(-0.1)


def main(epochs: int = 100, start: int = 50) -> dict:
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 10)).astype("float32")
    y = (np.sin(X[:, :1]) + 0.1 * rng.normal(size=(1000, 1))).astype("float32")
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=akk.Adam(learning_rate=0.01), loss="mse")
    scheduler = keras.callbacks.LearningRateScheduler(lambda e, lr: lr_schedule(e, lr, start))
    history = model.fit(X, y, epochs=epochs, batch_size=32, callbacks=[scheduler], verbose=0)
    loss = history.history["loss"]
    return {"loss_first": loss[0], "loss_last": loss[-1],
            "learning_rate": history.history["learning_rate"]}  # Keras 3's key (tf.keras: 'lr')


if __name__ == "__main__":
    print(main())
