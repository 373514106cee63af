"""The networks ``adamkit train --model`` builds: the seeds' models and the fast default ones.

Every builder takes the data set (for input shape, classes, vocabulary) and returns an
``nn.Module`` whose parameters are initialized from torch's global RNG, so a seed fixes them.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from adamkit.errors import UsageError, choice
from adamkit.train.datasets import Dataset


def _classes(ds: Dataset) -> int:
    if ds.num_classes is None:
        raise UsageError(f"data set {ds.name!r} has no classes; valid models: regression-mlp")
    return ds.num_classes


def _flat_size(shape: tuple[int, ...]) -> int:
    return int(math.prod(shape))


def seed_mlp(ds: Dataset) -> nn.Module:
    """The seeds' Keras MNIST MLP: Flatten, Dense(128, relu), Dropout(0.2), Dense(10)."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(_flat_size(ds.input_shape), 128),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(128, _classes(ds)),
    )


def digits_cnn(ds: Dataset) -> nn.Module:
    """A small CNN for 8x8 digits: two 3x3 convs (32, 64) at full resolution, one pool, linear.

    8x8 is too small to pool twice; two same-padded convolutions see 5x5 neighbourhoods, enough
    for the strokes of an 8x8 digit, and the whole net trains in seconds on two cores.
    """
    c = ds.input_shape[0]
    h, w = ds.input_shape[1:]
    return nn.Sequential(
        nn.Conv2d(c, 32, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.25),
        nn.Linear(64 * (h // 2) * (w // 2), _classes(ds)),
    )


def seed_cnn(ds: Dataset) -> nn.Module:
    """The seeds' PyTorch MNIST CNN: conv5x5(32)-relu-pool, conv5x5(64)-relu-pool, linear."""
    c, h, w = ds.input_shape
    h2, w2 = ((h - 4) // 2 - 4) // 2, ((w - 4) // 2 - 4) // 2
    return nn.Sequential(
        nn.Conv2d(c, 32, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * h2 * w2, _classes(ds)),
    )


def mnist_cnn(ds: Dataset) -> nn.Module:
    """The fast MNIST default: [conv5x5-BN-ReLU-pool] x2 (20, 40 channels), Dense(128), Dense(10).

    About 1.8M multiply-adds per 28x28 image, half the seed CNN's 3.7M (32/64 channels): on one
    busy core it trained about twice as fast per sample as 32/64-channel variants, with three
    times LeNet-5's channels, which is ample for MNIST. Batch norm after each convolution keeps a
    one-cycle peak learning rate of 3e-3 stable from the first steps; the hidden dense layer is
    cheap (82k multiply-adds) and lifts capacity where it costs nothing.
    """
    c, h, w = ds.input_shape
    s_h, s_w = ((h - 4) // 2 - 4) // 2, ((w - 4) // 2 - 4) // 2
    return nn.Sequential(
        nn.Conv2d(c, 20, 5, bias=False),
        nn.BatchNorm2d(20),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(20, 40, 5, bias=False),
        nn.BatchNorm2d(40),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(40 * s_h * s_w, 128),
        nn.ReLU(),
        nn.Linear(128, _classes(ds)),
    )


def cifar_cnn(ds: Dataset) -> nn.Module:
    """The seeds' Keras CIFAR-10 CNN: conv3x3 32-pool-64-pool-64, Dense(64), Dense(10)."""
    c, h, w = ds.input_shape
    s = ((h - 2) // 2 - 2) // 2 - 2
    return nn.Sequential(
        nn.Conv2d(c, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(64 * s * s, 64),
        nn.ReLU(),
        nn.Linear(64, _classes(ds)),
    )


class UNet(nn.Module):
    """The seeds' simplified U-Net: two down levels, a bridge, two up levels with skip joins.

    ``base`` channels at full resolution, doubling per level (the seeds use base=64 on 128x128);
    one 3x3 conv per level as in the seed; a 1x1 conv to one logit per pixel (the loss applies
    the sigmoid).
    """

    def __init__(self, in_channels: int, base: int = 8):
        super().__init__()

        def conv(cin: int, cout: int) -> nn.Module:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU())

        self.enc1, self.enc2 = conv(in_channels, base), conv(base, 2 * base)
        self.bridge = conv(2 * base, 4 * base)
        self.dec2, self.dec1 = conv(4 * base + 2 * base, 2 * base), conv(2 * base + base, base)
        self.pool = nn.MaxPool2d(2)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.head = nn.Conv2d(base, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        b = self.bridge(self.pool(e2))
        d2 = self.dec2(torch.cat([self.up(b), e2], dim=1))
        d1 = self.dec1(torch.cat([self.up(d2), e1], dim=1))
        return self.head(d1)


def unet(ds: Dataset, base: int = 8) -> nn.Module:
    h, w = ds.input_shape[1:]
    if h % 4 or w % 4:
        raise UsageError(f"unet needs image sides divisible by 4, got {h}x{w}")
    return UNet(ds.input_shape[0], base)


def seed_unet(ds: Dataset) -> nn.Module:
    return unet(ds, base=64)


class TextBag(nn.Module):
    """Mean of word embeddings (EmbeddingBag, padding ignored), then a linear classifier.

    With ``sparse=True`` the embedding's gradient is a sparse tensor holding only the rows of the
    words in the batch: what ``SparseAdam`` is for.
    """

    def __init__(self, vocab_size: int, num_classes: int, dim: int = 64, sparse: bool = False):
        super().__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, dim, mode="mean", sparse=sparse, padding_idx=0)
        self.classifier = nn.Linear(dim, num_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embedding(tokens))


def text_bag(ds: Dataset, sparse: bool = False) -> nn.Module:
    if "vocab_size" not in ds.extra:
        raise UsageError(f"model text-bag needs a text data set (sparse-text), not {ds.name!r}")
    return TextBag(ds.extra["vocab_size"], _classes(ds), sparse=sparse)


def regression_mlp(ds: Dataset) -> nn.Module:
    """The seeds' regression net: Dense(64, relu), Dense(32, relu), Dense(1)."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(_flat_size(ds.input_shape), 64),
        nn.ReLU(),
        nn.Linear(64, 32),
        nn.ReLU(),
        nn.Linear(32, 1),
    )


MODELS = {
    "mlp": seed_mlp,
    "digits-cnn": digits_cnn,
    "seed-cnn": seed_cnn,
    "mnist-cnn": mnist_cnn,
    "cifar-cnn": cifar_cnn,
    "unet": unet,
    "seed-unet": seed_unet,
    "text-bag": text_bag,
    "regression-mlp": regression_mlp,
}
# Which data layout each model accepts (a mismatch is a usage error, not a shape traceback).
_NEEDS = {
    "digits-cnn": "image",
    "seed-cnn": "image",
    "mnist-cnn": "image",
    "cifar-cnn": "image",
    "unet": "segmentation",
    "seed-unet": "segmentation",
    "text-bag": "text",
}


def build(name: str, ds: Dataset, sparse: bool = False) -> nn.Module:
    """Model ``name`` for data set ``ds``; ``sparse`` asks text-bag for sparse gradients."""
    if name not in MODELS:
        raise choice("model", name, MODELS)
    need = _NEEDS.get(name)
    is_image = ds.x_train.ndim == 4
    if need == "image" and not (is_image and ds.task != "segmentation"):
        raise UsageError(f"model {name} needs an image classification data set, not {ds.name!r}")
    if need == "segmentation" and ds.task != "segmentation":
        raise UsageError(f"model {name} needs a segmentation data set (shapes), not {ds.name!r}")
    if name not in ("unet", "seed-unet") and ds.task == "segmentation":
        raise UsageError(f"data set {ds.name!r} is segmentation; valid models: seed-unet, unet")
    if (name == "regression-mlp") != (ds.task == "regression"):
        valid = "regression-mlp" if ds.task == "regression" else "any but regression-mlp"
        raise UsageError(f"model {name} does not fit data set {ds.name!r} ({ds.task}); "
                         f"valid: {valid}")
    if name == "text-bag":
        return text_bag(ds, sparse=sparse)
    if "vocab_size" in ds.extra:
        raise UsageError(f"data set {ds.name!r} is text; valid models: text-bag")
    if name in ("seed-cnn", "mnist-cnn") and min(ds.input_shape[1:]) < 16:
        raise UsageError(f"model {name} needs images of at least 16x16, {ds.name!r} has "
                         f"{ds.input_shape[1]}x{ds.input_shape[2]}")
    if name == "cifar-cnn" and min(ds.input_shape[1:]) < 18:
        raise UsageError(f"model cifar-cnn needs images of at least 18x18, {ds.name!r} has "
                         f"{ds.input_shape[1]}x{ds.input_shape[2]}")
    return MODELS[name](ds)
