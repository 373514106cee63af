"""The light name lists the CLI registers its choices from agree with the torch-side registries."""

from adamkit.train import datasets, models, names, optim_factory


def test_names_match_the_implementations():
    assert datasets.DATASETS == names.DATASETS
    assert tuple(models.MODELS) == names.MODELS
    assert optim_factory.OPTIMIZERS == names.OPTIMIZERS
