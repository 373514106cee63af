"""Named training recipes: a fast default per data set, and the seeds' exact recipes.

A recipe is a partial ``TrainConfig``; command-line flags override any field. The per-data-set
defaults are chosen for time to accuracy on a 2-core CPU (see README_SECTION.md for the why);
the ``seed-*`` recipes are the source documents' code, so their results can be reproduced.
"""

from __future__ import annotations

from adamkit.errors import choice

RECIPES: dict[str, dict] = {
    # -- fast defaults, one per data set ---------------------------------------------------------
    "digits": dict(
        dataset="digits", model="digits-cnn", optimizer="adam", lr=3e-3, batch_size=32,
        epochs=12, schedule="onecycle",
    ),
    "mnist": dict(
        dataset="mnist", model="mnist-cnn", optimizer="adam", lr=3e-3, batch_size=64,
        epochs=3, schedule="onecycle",
    ),
    "fashion-mnist": dict(
        dataset="fashion-mnist", model="mnist-cnn", optimizer="adam", lr=3e-3, batch_size=64,
        epochs=5, schedule="onecycle",
    ),
    "cifar10": dict(
        dataset="cifar10", model="cifar-cnn", optimizer="adam", lr=2e-3, batch_size=128,
        epochs=10, schedule="onecycle",
    ),
    "shapes": dict(
        dataset="shapes", model="unet", optimizer="adam", lr=3e-3, batch_size=16, epochs=8,
        schedule="cosine",
    ),
    "sparse-text": dict(
        dataset="sparse-text", model="text-bag", optimizer="sparse_adam", lr=1e-2,
        batch_size=64, epochs=5,
    ),
    "regression": dict(
        dataset="regression", model="regression-mlp", optimizer="adam", lr=3e-3,
        batch_size=32, epochs=30, schedule="cosine",
    ),
    # -- the source documents' recipes, as written -------------------------------------------
    # PyTorch MNIST CNN: Adam(lr=5e-4), 50 epochs, batch 64 ("reaches >99%").
    "seed-mnist-cnn": dict(
        dataset="mnist", model="seed-cnn", optimizer="adam", lr=5e-4, batch_size=64, epochs=50,
    ),
    # Keras MNIST MLP: Flatten, Dense(128), Dropout(0.2), Dense(10); Adam defaults, 3 epochs,
    # Keras's default batch size 32.
    "seed-mnist-mlp": dict(
        dataset="mnist", model="mlp", optimizer="adam", lr=1e-3, batch_size=32, epochs=3,
    ),
    # Keras CIFAR-10 CNN: Adam defaults (Keras eps 1e-7), 10 epochs, batch 32.
    "seed-cifar-cnn": dict(
        dataset="cifar10", model="cifar-cnn", optimizer="adam", lr=1e-3, eps=1e-7,
        batch_size=32, epochs=10,
    ),
    # Keras U-Net: Adam(1e-3), binary cross-entropy, batch 16, 10 epochs, 128x128 inputs.
    "seed-unet": dict(
        dataset="shapes", model="seed-unet", optimizer="adam", lr=1e-3, eps=1e-7, batch_size=16,
        epochs=10, dataset_options={"image_size": 128, "train_size": 80, "test_size": 20},
    ),
    # Keras regression net 64-32-1 with Adam(0.01), batch 32, 100 epochs, lr x exp(-0.1) per
    # epoch from epoch 50 (the seeds' LearningRateScheduler).
    "seed-lr-decay": dict(
        dataset="regression", model="regression-mlp", optimizer="adam", lr=1e-2, eps=1e-7,
        batch_size=32, epochs=100, schedule="seed-exp-decay",
    ),
    # The seeds' "adaptive learning rates" slide: the same net, Adam(0.01), 50 epochs, with
    # what Keras could not show: Adam's per-coordinate step sizes.
    "seed-adaptive-lr": dict(
        dataset="regression", model="regression-mlp", optimizer="adam", lr=1e-2, eps=1e-7,
        batch_size=32, epochs=50, diagnostics=True,
    ),
}
DEFAULT_RECIPE = "digits"


def get(name: str) -> dict:
    if name not in RECIPES:
        raise choice("recipe", name, RECIPES)
    return {"recipe": name, **RECIPES[name]}


def default_for(dataset: str) -> str:
    """The fast recipe of ``dataset`` (each data set has one under its own name)."""
    return dataset if dataset in RECIPES else DEFAULT_RECIPE
