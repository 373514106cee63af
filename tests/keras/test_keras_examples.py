"""Each Keras program of the source documents, in examples/, runs on the torch backend with
adamkit.keras and reduces its loss (small sizes; the scripts' defaults are the seeds')."""

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# script -> the small arguments its test runs with
SMALL = {
    "keras_dense_model.py": {"epochs": 5},
    "keras_cifar_cnn.py": {"epochs": 3, "n": 96},
    "keras_effective_step_sizes.py": {"epochs": 3},
    "keras_sparse_features.py": {"epochs": 30},
    "keras_lr_decay.py": {"epochs": 8, "start": 4},
    "keras_grid_search.py": {"epochs": 3, "n": 256,
                             "grid": {"learning_rate": [0.001, 0.01], "beta_1": [0.9, 0.95],
                                      "beta_2": [0.999]}},
    "keras_unet.py": {"epochs": 3, "n": 24, "size": 16, "filters": 4},
}


def _run(script, **arguments):
    return runpy.run_path(str(EXAMPLES / script))["main"](**arguments)


def test_every_keras_example_is_tested():
    tested = set(SMALL) | {"keras_rosenbrock.py", "keras_mnist_mlp.py"}
    assert tested == {p.name for p in EXAMPLES.glob("keras_*.py")}


@pytest.mark.parametrize("script", sorted(SMALL))
def test_example_runs_and_reduces_its_loss(script):
    result = _run(script, **SMALL[script])
    assert result["loss_last"] < result["loss_first"], result


def test_rosenbrock_every_optimizer_descends():
    result = _run("keras_rosenbrock.py", steps=300)
    for name, losses in result.items():
        assert losses["loss_last"] < losses["loss_first"], name


def test_mnist_mlp_on_digits_reports_its_accuracy():
    result = _run("keras_mnist_mlp.py", epochs=3)
    print(f"digits MLP, 3 epochs: val_accuracy {result['val_accuracy']:.4f}")
    assert result["loss_last"] < result["loss_first"], result
    assert result["val_accuracy"] > 0.85  # 10 classes: chance is 0.1


def test_lr_decay_example_decays_after_the_start_epoch():
    rates = _run("keras_lr_decay.py", epochs=6, start=3)["learning_rate"]
    assert rates[:3] == pytest.approx([0.01] * 3)
    assert rates[3] == pytest.approx(0.01 * 2.718281828 ** -0.1, rel=1e-5)
