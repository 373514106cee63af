"""Source slide 14: a (simplified) U-Net trained with Adam. The seed's target is random noise,
which no model can learn; here the mask is a generated shape in the image, so the loss falls.
``size`` and ``filters`` scale the seed's 128x128 input and 64/128/256 filters down for tests."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import adamkit.keras as akk  # noqa: E402


def unet(input_size=(128, 128, 1), filters=64):
    layers = keras.layers
    inputs = layers.Input(input_size)
    conv1 = layers.Conv2D(filters, 3, activation="relu", padding="same")(inputs)
    pool1 = layers.MaxPooling2D(pool_size=(2, 2))(conv1)
    conv2 = layers.Conv2D(2 * filters, 3, activation="relu", padding="same")(pool1)
    pool2 = layers.MaxPooling2D(pool_size=(2, 2))(conv2)
    conv3 = layers.Conv2D(4 * filters, 3, activation="relu", padding="same")(pool2)  # bridge
    up4 = layers.concatenate([layers.UpSampling2D(size=(2, 2))(conv3), conv2])
    conv4 = layers.Conv2D(2 * filters, 3, activation="relu", padding="same")(up4)
    up5 = layers.concatenate([layers.UpSampling2D(size=(2, 2))(conv4), conv1])
    conv5 = layers.Conv2D(filters, 3, activation="relu", padding="same")(up5)
    outputs = layers.Conv2D(1, 1, activation="sigmoid")(conv5)
    return keras.Model(inputs=inputs, outputs=outputs)


def discs(n, size, seed=0):
    """Bright discs on noise; the mask is the disc."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    centres = rng.uniform(size * 0.25, size * 0.75, size=(n, 2))
    radii = rng.uniform(size * 0.1, size * 0.25, size=n)
    masks = ((yy - centres[:, :1, None]) ** 2 + (xx - centres[:, 1:, None]) ** 2
             < radii[:, None, None] ** 2)
    images = 0.6 * masks + 0.4 * rng.random(masks.shape)
    return images[..., None].astype("float32"), masks[..., None].astype("float32")


def main(epochs: int = 10, n: int = 100, size: int = 128, filters: int = 64) -> dict:
    keras.utils.set_random_seed(0)
    model = unet((size, size, 1), filters)
    model.compile(optimizer=akk.Adam(learning_rate=0.001), loss="binary_crossentropy",
                  metrics=["accuracy"])
    X, y = discs(n, size)
    history = model.fit(X, y, batch_size=16, epochs=epochs, validation_split=0.2, verbose=0)
    loss = history.history["loss"]
    return {"loss_first": loss[0], "loss_last": loss[-1], "val_loss_last": history.history["val_loss"][-1]}


if __name__ == "__main__":
    print(main())
