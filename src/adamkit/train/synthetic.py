"""Generated data sets with real structure to learn (the seeds train on pure noise, which can't).

Each generator is a pure function of its seed (``numpy.random.default_rng``), so every run and
every resumed run sees the same data.
"""

from __future__ import annotations

import numpy as np
import torch

from adamkit.errors import UsageError

TEXT_CLASSES = 4
TEXT_MAX_LEN = 40
PAD = 0  # token id 0 pads documents to TEXT_MAX_LEN; EmbeddingBag ignores it (padding_idx)


def shapes(n: int, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Segmentation: 1-3 ellipses or rectangles of random brightness on Gaussian noise.

    Returns images (n, 1, size, size) float32 and masks of the same shape with 1 inside a shape.
    The noise (std 0.5) is comparable to the shapes' brightness (0.6-1.4), so a pixel threshold
    alone is a weak segmenter; context (what a U-Net sees) helps.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    images = rng.normal(0.0, 0.5, (n, size, size)).astype(np.float32)
    masks = np.zeros((n, size, size), np.float32)
    for i in range(n):
        for _ in range(rng.integers(1, 4)):
            cy, cx = rng.uniform(0.15 * size, 0.85 * size, 2)
            ry, rx = rng.uniform(0.08 * size, 0.25 * size, 2)
            if rng.random() < 0.5:
                inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0
            else:
                inside = (np.abs(yy - cy) <= ry) & (np.abs(xx - cx) <= rx)
            images[i][inside] += rng.uniform(0.6, 1.4)
            masks[i][inside] = 1.0
    return torch.from_numpy(images[:, None]), torch.from_numpy(masks[:, None])


def sparse_text(
    vocab_size: int, train_size: int, test_size: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Bag-of-words classification with a large vocabulary, the case sparse gradients are for.

    Background words follow Zipf's law (p(k) ~ 1/k^1.1); each of ``TEXT_CLASSES`` classes owns 40
    cue words, and each token is a cue word of the document's class with probability 0.12.
    Documents have 10-40 tokens, padded with ``PAD`` to (N, TEXT_MAX_LEN) int64. Any one batch
    touches only a few thousand of the vocabulary's rows.
    """
    if vocab_size < 1000:
        raise UsageError(f"vocab_size must be >= 1000 for sparse-text, got {vocab_size}")
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, vocab_size, dtype=np.float64)
    background = 1.0 / ranks**1.1
    background /= background.sum()
    cues = rng.choice(np.arange(100, vocab_size), size=(TEXT_CLASSES, 40), replace=False)
    total = train_size + test_size
    labels = rng.integers(0, TEXT_CLASSES, total)
    docs = np.full((total, TEXT_MAX_LEN), PAD, np.int64)
    lengths = rng.integers(10, TEXT_MAX_LEN + 1, total)
    for i in range(total):
        words = rng.choice(vocab_size - 1, size=lengths[i], p=background) + 1
        is_cue = rng.random(lengths[i]) < 0.12
        words[is_cue] = rng.choice(cues[labels[i]], size=int(is_cue.sum()))
        docs[i, : lengths[i]] = words
    x, y = torch.from_numpy(docs), torch.from_numpy(labels.astype(np.int64))
    return x[:train_size], y[:train_size], x[train_size:], y[train_size:]


def regression(
    train_size: int, test_size: int, features: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """y = teacher(x) + noise with x ~ N(0, I), the teacher a random tanh MLP (10-32-1).

    The target is scaled to unit variance and the noise has std 0.1, so a perfect model reaches
    a test MSE of about 0.01 and predicting the mean gives about 1.
    """
    rng = np.random.default_rng(seed)
    w1 = rng.normal(0, 1 / np.sqrt(features), (features, 32))
    b1 = rng.normal(0, 0.5, 32)
    w2 = rng.normal(0, 1 / np.sqrt(32), (32, 1))
    x = rng.normal(0, 1, (train_size + test_size, features))
    clean = np.tanh(x @ w1 + b1) @ w2
    clean = (clean - clean.mean()) / clean.std()
    y = clean + rng.normal(0, 0.1, clean.shape)
    x_t = torch.from_numpy(x.astype(np.float32))
    y_t = torch.from_numpy(y.astype(np.float32))
    return x_t[:train_size], y_t[:train_size], x_t[train_size:], y_t[train_size:]
