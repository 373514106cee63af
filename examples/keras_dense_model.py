"""Source slides 1-3: Adam's parameters and a simple Dense model, with adamkit.keras in place of
tf.keras.optimizers (the only change). Data: a generated 10-class problem."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import adamkit.keras as akk  # noqa: E402


def main(epochs: int = 5) -> dict:
    keras.utils.set_random_seed(0)
    optimizer = akk.Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999)  # slide 1
    custom_adam = akk.Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-07,
                           amsgrad=False)  # slide 3: Keras's "epsilon hat" convention, as Keras
    x = np.random.default_rng(0).normal(size=(256, 20)).astype("float32")
    y = keras.utils.to_categorical(np.argmax(x[:, :10], axis=1), 10)
    model = keras.Sequential([keras.Input((20,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=akk.Adam(learning_rate=0.001), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    loss = model.fit(x, y, epochs=epochs, batch_size=32, verbose=0).history["loss"]
    return {"loss_first": loss[0], "loss_last": loss[-1],
            "configs": [optimizer.get_config()["beta_1"], custom_adam.get_config()["epsilon"]]}


if __name__ == "__main__":
    print(main())
