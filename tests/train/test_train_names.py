"""The light name lists the CLI registers its choices from agree with the torch-side registries."""

from adamkit.train import datasets, models, names, optim_factory


def test_names_match_the_implementations():
    assert names.DATASETS == datasets.DATASETS
    assert names.MODELS == tuple(models.MODELS)
    assert names.OPTIMIZERS == optim_factory.OPTIMIZERS
