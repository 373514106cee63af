"""Source 004: the MNIST MLP with Adam (the seed reports 97.25% after 3 epochs on MNIST), on real
data that ships here: scikit-learn's handwritten digits (1,797 images, 8x8), no download.
``compile(optimizer='adam')`` becomes ``compile(optimizer=akk.Adam())``: Keras's defaults."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

import adamkit.keras as akk  # noqa: E402


def main(epochs: int = 3) -> dict:
    keras.utils.set_random_seed(0)
    digits = load_digits()
    images = (digits.images / 16.0).astype("float32")  # the seed's /255 for 0..16 pixels
    x_train, x_test, y_train, y_test = train_test_split(images, digits.target, test_size=0.25,
                                                        random_state=0)
    model = keras.Sequential([
        keras.Input((8, 8)),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.2),
        keras.layers.Dense(10),
    ])
    model.compile(optimizer=akk.Adam(),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(x_train, y_train, epochs=epochs, validation_data=(x_test, y_test),
                        verbose=0)
    loss = history.history["loss"]
    return {"loss_first": loss[0], "loss_last": loss[-1],
            "val_accuracy": history.history["val_accuracy"][-1]}


if __name__ == "__main__":
    result = main()
    print(f"Final validation accuracy: {result['val_accuracy']:.4f}")
