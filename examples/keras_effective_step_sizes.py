"""Source slide 10, "Adam's adaptive learning rates", made to show what it meant to: the seed's
LearningRateTracker recorded ``optimizer.learning_rate``, a constant; ``EffectiveStepSizes``
records each layer's real per-coordinate step size ``lr / denominator`` from Adam's state.

Run as a script to also write the plot: ``python examples/keras_effective_step_sizes.py out.png``.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import adamkit.keras as akk  # noqa: E402


def main(epochs: int = 5, plot_to: str | None = None) -> dict:
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 10)).astype("float32")
    y = (X @ rng.normal(size=(10, 1)) + 0.1 * rng.normal(size=(1000, 1))).astype("float32")
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)])
    optimizer = akk.Adam(learning_rate=0.01)
    model.compile(optimizer=optimizer, loss="mse")
    tracker = akk.EffectiveStepSizes(every=4)
    history = model.fit(X, y, epochs=epochs, batch_size=32, callbacks=[tracker], verbose=0)
    if plot_to:
        import matplotlib.pyplot as plt

        plt.figure(figsize=(10, 6))
        for layer, median in tracker.median.items():
            line, = plt.plot(tracker.steps, median, label=f"{layer} (median)")
            plt.fill_between(tracker.steps, tracker.p10[layer], tracker.p90[layer],
                             color=line.get_color(), alpha=0.2)
        plt.axhline(0.01, color="k", ls="--", label="optimizer.learning_rate (the seed's plot)")
        plt.title("Adam's effective step sizes during training")
        plt.xlabel("Training step")
        plt.ylabel("lr / denominator")
        plt.yscale("log")
        plt.legend()
        plt.savefig(plot_to)
    loss = history.history["loss"]
    return {"loss_first": loss[0], "loss_last": loss[-1],
            "median_step_size_last": {k: v[-1] for k, v in tracker.median.items()}}


if __name__ == "__main__":
    print(main(plot_to=sys.argv[1] if len(sys.argv) > 1 else None))
