"""Source slide 8: the CIFAR-10 CNN with Adam, on a generated batch of CIFAR's shape (32x32x3,
10 classes; no download): each class is a colour pattern plus noise, so the loss can fall."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import adamkit.keras as akk  # noqa: E402


def cifar_shaped_batch(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, size=n)
    patterns = rng.uniform(size=(10, 1, 1, 3)) * np.linspace(0, 1, 32)[None, :, None, None]
    x = patterns[y] + 0.3 * rng.uniform(size=(n, 32, 32, 3))
    return x.astype("float32"), y


def main(epochs: int = 3, n: int = 128) -> dict:
    keras.utils.set_random_seed(0)
    x_train, y_train = cifar_shaped_batch(n)
    x_test, y_test = cifar_shaped_batch(n // 2, seed=1)
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        keras.layers.Conv2D(32, (3, 3), activation="relu"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Conv2D(64, (3, 3), activation="relu"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Conv2D(64, (3, 3), activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=akk.Adam(), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=32,
                        validation_data=(x_test, y_test), verbose=0)
    test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
    loss = history.history["loss"]
    return {"loss_first": loss[0], "loss_last": loss[-1], "test_accuracy": test_acc}


if __name__ == "__main__":
    print(main())
