r"""Feature extractors for the sample-quality metrics of :mod:`gan_tutor.metrics` (notebook 07).

FID, KID, precision/recall and density/coverage never look at pixels: they compare two sets of
*features*, the activations of a fixed network on each image. The network is a choice, and the numbers
mean something only for that choice. Here an extractor is any ``torch.nn.Module`` that maps a batch of
images (N, C, H, W) in [0, 1] to features (N, D), with an attribute ``num_features`` = D (so that
torchmetrics accepts it too: ``FrechetInceptionDistance(feature=extractor, normalize=True)``):

* :class:`DigitFeatures`: the 128 penultimate activations of the course's digit judge,
  :class:`gan_tutor.classifier.DigitClassifier`, trained on real MNIST digits and shipped with the package
  (weights checked by sha256). For digits this is the analogue of "FID-LeNet"; its softmax gives the class
  probabilities of the Inception Score. Works offline.
* :class:`PixelFeatures`: the raw pixels, flattened (a baseline: no notion of what a digit is).
* :func:`random_digit_features`: the judge's architecture with random, untrained weights.
* :func:`inception_v3`: Inception-v3's 2,048 pool features, the standard FID (Heusel et al. 2017), through
  ``torch-fidelity`` (the network torchmetrics uses too). Its weights are downloaded once (about 100 MB,
  from GitHub) into torch's hub cache; offline, or behind a firewall, it raises :class:`FeatureExtractorUnavailable`
  within ``timeout`` seconds, saying how to fetch the file elsewhere and pass ``weights_path=``. For Colab.

:func:`extract` runs an extractor over many images in batches, without gradients.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gan_tutor.classifier import DIGIT_SHAPE, DigitClassifier, load_digit_classifier
from gan_tutor.download import any_reachable, sha256_of
from gan_tutor.env import seeded
from gan_tutor.images import check_images

# The Inception-v3 weights torch-fidelity and torchmetrics use (converted from TensorFlow's 2015-12-05 graph,
# the FID reference); the hex after the last '-' is the start of the file's sha256, as torch.hub names files.
INCEPTION_URL = "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
INCEPTION_FILE = INCEPTION_URL.rsplit("/", 1)[1]
INCEPTION_SHA256_PREFIX = "6726825d"


class FeatureExtractorUnavailable(RuntimeError):
    """A feature extractor's package or weights are missing; the message says how to get them."""


class DigitFeatures(nn.Module):
    """The digit judge's penultimate features: (N, 1, 28, 28) in [0, 1] -> (N, 128), non-negative.

    ``classifier=None`` loads the shipped, hash-checked judge. :meth:`probs` gives its class probabilities
    (N, 10), the input of :func:`gan_tutor.metrics.inception_score`.
    """

    def __init__(self, classifier: DigitClassifier | None = None):
        super().__init__()
        self.classifier = (classifier if classifier is not None else load_digit_classifier()).eval()
        self.num_features = self.classifier.n_features

    def train(self, mode: bool = True) -> "DigitFeatures":  # a fixed yardstick: batch norm stays in eval mode
        return super().train(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier.features(check_images(x, DIGIT_SHAPE).to(self._device))

    def probs(self, x: torch.Tensor) -> torch.Tensor:
        return F.softmax(self.classifier(check_images(x, DIGIT_SHAPE).to(self._device)), dim=1)

    @property
    def _device(self) -> torch.device:
        return next(self.classifier.parameters()).device


class PixelFeatures(nn.Module):
    """Raw pixels as features: (N, C, H, W) -> (N, C H W)."""

    def __init__(self, image_shape: tuple[int, ...] = (1, 28, 28)):
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.num_features = int(torch.tensor(self.image_shape).prod())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return check_images(x, self.image_shape).flatten(1)


def random_digit_features(seed: int = 0) -> DigitFeatures:
    """The judge's network with random weights (PyTorch's default initialisation, drawn with ``seed``), untrained."""
    with seeded(seed):
        net = DigitClassifier()
    return DigitFeatures(net)


# --------------------------------------------------------------------------------------------------
# Inception-v3, through torch-fidelity (online once; then from the cache or a local file)
# --------------------------------------------------------------------------------------------------


class InceptionFeatures(nn.Module):
    """Inception-v3 pool features (N, 2048) of images (N, 1 or 3, H, W) in [0, 1].

    Grey images are repeated over three channels and every image is quantised to 8 bits, as FID's reference
    implementation reads PNG files; the network resizes to 299 x 299 itself (bilinear, as TensorFlow 1 did).
    ``net`` is torch-fidelity's ``FeatureExtractorInceptionV3`` asked for ``["2048", "logits_unbiased"]``.
    """

    num_features = 2048

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net.eval()

    @staticmethod
    def to_uint8_rgb(x: torch.Tensor) -> torch.Tensor:
        x = check_images(x)  # (N, 1 or 3, H, W) in [0, 1]
        return (x.expand(-1, 3, -1, -1) * 255).round().to(torch.uint8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.to_uint8_rgb(x))[0].reshape(len(x), -1)

    def probs(self, x: torch.Tensor) -> torch.Tensor:
        return F.softmax(self.net(self.to_uint8_rgb(x))[1].double(), dim=1)


def inception_cache_path() -> Path:
    """Where :func:`inception_v3` keeps the downloaded weights: torch's hub cache (``$TORCH_HOME/hub/checkpoints``),
    the same file torchmetrics and torch-fidelity look for."""
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE


def _how_to_fetch(target: Path) -> str:
    return (f"on a machine with internet, download {INCEPTION_URL} (about 100 MB) and either copy it to {target} or pass "
            f"inception_v3(weights_path='/path/to/{INCEPTION_FILE}'); offline, use the digit judge's features "
            "(gan_tutor.features.DigitFeatures), which ship with the package")


def download_inception_weights(target: Path | None = None, url: str = INCEPTION_URL, timeout: float = 30.0) -> Path:
    """Download the Inception-v3 weights to ``target`` (default: :func:`inception_cache_path`) and return the path.

    Written to a temporary file, checked against the sha256 prefix in its name, then renamed: never a half file.
    A connection probe first (at most 5 s, name lookup included), then every network wait (connecting, each read)
    gives up after ``timeout`` seconds, with
    :class:`FeatureExtractorUnavailable` saying how to fetch the file by hand.
    """
    target = Path(target) if target is not None else inception_cache_path()
    if not any_reachable([url], timeout=min(timeout, 5.0)):  # a probe in a thread: a stuck name lookup cannot hang us
        raise FeatureExtractorUnavailable(f"could not fetch the Inception-v3 weights: no connection to the host of {url} "
                                          f"within {min(timeout, 5.0):g} s; this machine seems to be offline: {_how_to_fetch(target)}.")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                shutil.copyfileobj(response, f, length=1 << 20)
        digest = sha256_of(Path(tmp))
        if not digest.startswith(INCEPTION_SHA256_PREFIX):
            raise FeatureExtractorUnavailable(f"the file downloaded from {url} has sha256 {digest[:16]}..., expected "
                                              f"{INCEPTION_SHA256_PREFIX}...: a damaged or different file; {_how_to_fetch(target)}.")
        os.replace(tmp, target)
    except FeatureExtractorUnavailable:
        raise
    except Exception as e:  # URLError, timeouts, refused or reset connections, DNS failures, full disks
        raise FeatureExtractorUnavailable(f"could not fetch the Inception-v3 weights from {url} ({type(e).__name__}: {e}); "
                                          f"this machine seems to be offline or cannot reach github.com: {_how_to_fetch(target)}.") from e
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return target


def inception_v3(weights_path: str | Path | None = None, timeout: float = 30.0, device: str | torch.device = "cpu") -> InceptionFeatures:
    """Inception-v3 as a feature extractor (:class:`InceptionFeatures`), for Colab or any machine online once.

    ``weights_path``: a local copy of the weights (checked against the sha256 prefix of their official name);
    by default the hub cache, downloaded there first if it is not already (:func:`download_inception_weights`).
    Needs ``torch-fidelity`` (``pip install torch-fidelity``). Every failure raises
    :class:`FeatureExtractorUnavailable` naming the fix; nothing waits longer than ``timeout`` seconds.
    """
    try:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    except ImportError as e:
        raise FeatureExtractorUnavailable("Inception-v3 features need torch-fidelity: pip install torch-fidelity "
                                          "(or pip install 'torchmetrics[image]', which brings it).") from e
    if weights_path is None:
        path = inception_cache_path()
        if not path.is_file():
            path = download_inception_weights(path, timeout=timeout)
    else:
        path = Path(weights_path)
        if not path.is_file():
            raise FeatureExtractorUnavailable(f"Inception-v3 weights {path} do not exist: {_how_to_fetch(inception_cache_path())}.")
    digest = sha256_of(path)
    if not digest.startswith(INCEPTION_SHA256_PREFIX):
        raise FeatureExtractorUnavailable(f"{path} has sha256 {digest[:16]}..., not the Inception-v3 FID weights "
                                          f"({INCEPTION_SHA256_PREFIX}...): {_how_to_fetch(inception_cache_path())}.")
    net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"], feature_extractor_weights_path=str(path))
    return InceptionFeatures(net).to(device)
