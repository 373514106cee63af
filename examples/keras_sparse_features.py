"""Source slide 11: Adam on sparse bag-of-words features (the seed's nine sentences)."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.feature_extraction.text import CountVectorizer  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

import adamkit.keras as akk  # noqa: E402

TEXTS = ["I love this movie", "This movie is great", "Awesome film", "Terrible movie",
         "I hate this film", "Worst movie ever", "Neutral opinion", "Average film", "It was okay"]
LABELS = [1, 1, 1, 0, 0, 0, 0.5, 0.5, 0.5]


def main(epochs: int = 100) -> dict:
    keras.utils.set_random_seed(0)
    X = CountVectorizer().fit_transform(TEXTS).toarray().astype("float32")
    y = np.array(LABELS, dtype="float32")
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
    model = keras.Sequential([keras.Input((X.shape[1],)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=akk.Adam(learning_rate=0.01), loss="mse", metrics=["mae"])
    history = model.fit(X_train, y_train, epochs=epochs, batch_size=2,
                        validation_data=(X_test, y_test), verbose=0)
    loss = history.history["loss"]
    return {"loss_first": loss[0], "loss_last": loss[-1], "val_loss_last": history.history["val_loss"][-1]}


if __name__ == "__main__":
    print(main())
