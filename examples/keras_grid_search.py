"""Source slide 13: a grid search over Adam's learning_rate, beta_1 and beta_2 with scikit-learn's
ParameterGrid; the grid's Keras names go straight into ``akk.Adam(**params)``."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.model_selection import ParameterGrid  # noqa: E402

import adamkit.keras as akk  # noqa: E402

PARAM_GRID = {"learning_rate": [0.001, 0.01, 0.1], "beta_1": [0.9, 0.95], "beta_2": [0.999, 0.9999]}


def grid_search(param_grid, X, y, epochs):
    best_loss, best_params, first_losses = float("inf"), None, []
    for params in ParameterGrid(param_grid):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(64, activation="relu"),
                                  keras.layers.Dense(1)])
        model.compile(optimizer=akk.Adam(**params), loss="mse")
        history = model.fit(X, y, epochs=epochs, batch_size=32, verbose=0)
        first_losses.append(history.history["loss"][0])
        if history.history["loss"][-1] < best_loss:
            best_loss, best_params = history.history["loss"][-1], params
    return best_params, best_loss, first_losses


def main(epochs: int = 50, n: int = 1000, grid: dict = PARAM_GRID) -> dict:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 10)).astype("float32")
    y = (X[:, :1] * X[:, 1:2] + 0.1 * rng.normal(size=(n, 1))).astype("float32")
    best_params, best_loss, first = grid_search(grid, X, y, epochs)
    return {"best_params": best_params, "loss_first": min(first), "loss_last": best_loss}


if __name__ == "__main__":
    print(main())
