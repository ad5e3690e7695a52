r"""A digit classifier trained on real digits, used as a judge of generated digits.

Every digit model in the course (GAN, DCGAN, conditional GAN, VAE, StyleGAN) is asked the same
question at the cpu tier: *are the samples recognisable digits, of every class?* A person answers by
looking at a grid; the course also answers with numbers, from a small CNN trained separately on real
digits and shipped with the package (``gan_tutor/weights/digit_classifier.pt``, checked by sha256):

* the **confident share**: the fraction of samples whose largest class probability is at least
  $\tau$ (0.9 by default),

  $$ \text{confident} = \frac{1}{N} \sum_{i=1}^{N} \mathbb{1}\big[\max_k p_\phi(k \mid x_i) \ge \tau\big], $$

* the **class shares**: the fraction of samples predicted as each digit,
  $s_k = \frac{1}{N} \sum_i \mathbb{1}[\arg\max_j p_\phi(j \mid x_i) = k]$; a generator that has
  collapsed onto a few modes shows a small $\min_k s_k$ (every class is 10% of real digits);
* for a conditional model, the **label accuracy**: the share of samples classified as the label they
  were generated for;
* the penultimate layer, :meth:`DigitClassifier.features`, is the feature space of the Fréchet
  distance reported in notebook 07 (the role Inception-v3 plays for FID on natural images).

Why a judge and not a quality metric on its own: a classifier answers "which digit is this, and how
sure am I", not "does this look like a real digit". A generator can find images the classifier is sure
about that no person would call a digit (adversarial patterns); blurry but legible digits score about
as well as sharp ones; a generator that outputs the same few perfect digits has a high confident share
(the class shares catch that, not the confidence); and two digits drawn over each other are still
called confidently about half the time (measured: 54-60% of overlaid held-out pairs). So the numbers
are read together with the class shares, the sample grids and the Fréchet distance, never alone.

Architecture (110,170 parameters, 450 kB of float32; shapes for a batch of N)::

    x (N, 1, 28, 28) in [0, 1]
    [conv3x3 -> BN -> ReLU] x2, 16 ch, maxpool   (N, 16, 14, 14)
    [conv3x3 -> BN -> ReLU] x2, 32 ch, maxpool   (N, 32, 7, 7)
    [conv3x3 -> BN -> ReLU]    64 ch, maxpool    (N, 64, 3, 3)
    flatten -> linear -> ReLU                    (N, 128)   = features(x)
    dropout(0.3) -> linear                       (N, 10)    = logits

Training (``scripts/train_digit_classifier.py``): the 4,000 digits of the mnist-5k ``train`` split
only, so the 1,000 held-out ``test`` digits, which no model in the course trains on, stay an honest
floor for the numbers below. Augmentation suited to judging generated digits: random shifts of up to
2 px, rotations of up to 10 degrees, scales 0.9-1.1 and, on half the digits, Gaussian pixel noise of
std up to 0.15 (generators place and size their digits less exactly than MNIST's centring does, and
leave speckle on the background; a legible digit should not be punished for either). **Outlier
exposure** (Hendrycks, Mazeika & Dietterich, 2019, "Deep Anomaly Detection with Outlier Exposure",
arXiv:1812.04606): each batch of 64 digits comes with 32 images that are no digit (uniform and sparse
noise, smooth blobs, constant grey, digits cut into shuffled 7x7 patches), trained towards the uniform
distribution with weight $\lambda = 0.5$,

$$ \mathcal{L} = \mathbb{E}_{(x, y)}\big[-\log p_\phi(y \mid x)\big]
   + \lambda\, \mathbb{E}_{\tilde{x}}\Big[-\tfrac{1}{10} \textstyle\sum_{k} \log p_\phi(k \mid \tilde{x})\Big], $$

so that "confident" means "a digit": without it, uniform noise is called an 8 with p > 0.9 every
time. AdamW (lr 2e-3, cosine decay, weight decay 1e-4), 20 epochs of batch 64 (1,240 steps), seed 0,
deterministic on CPU (the same flags write the same file, byte for byte). About 35 s on 2 free CPU
cores; several minutes when the cores are shared.

Measured with the shipped weights (the figures the training script prints), on the 1,000 held-out
digits: accuracy 99.2% (every class 98-100%), confident share (p >= 0.9) 96.6%, every class 9.8-10.3%
of the predictions. On 2,000 images of uniform noise the confident share is 0% (largest probability
0.1004, i.e. uniform); a blank image gets p = 0.10. Scoring 2,000 images takes about a second on 2 CPU
cores.

Taught in: notebook 02 (how samples are judged) and notebook 07 (evaluation: the Fréchet distance in
these features, and what a classifier-based score cannot tell).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from gan_tutor.download import sha256_of
from gan_tutor.images import check_images, check_labels

N_CLASSES = 10
DIGIT_SHAPE = (1, 28, 28)  # what the judge reads: greyscale 28x28 digits in [0, 1]
WEIGHTS_PATH = Path(__file__).resolve().parent / "weights" / "digit_classifier.pt"
# sha256 of the shipped weights, as printed by scripts/train_digit_classifier.py (default flags).
WEIGHTS_SHA256 = "7aa34b9d4c32a079638e492ae2f1320f69fca87486552ac80b61f67694bf94ab"
_RETRAIN_HINT = (
    "run `python scripts/train_digit_classifier.py` from the repository root to rebuild it, "
    "or reinstall gan_tutor (`pip install --force-reinstall .` or `pip install -e .` from the repository root)"
)


class ClassifierWeightsError(RuntimeError):
    """The digit classifier's weights file is missing, corrupted or of another architecture."""


def _conv_bn_relu(c_in: int, c_out: int) -> nn.Sequential:
    """3x3 convolution keeping H and W, batch norm, ReLU (the conv has no bias: BN supplies it)."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)
    )


class DigitClassifier(nn.Module):
    """A small CNN: (N, 1, 28, 28) images in [0, 1] -> (N, 10) logits. See the module docstring.

    Call ``eval()`` before scoring: batch norm then uses its running statistics and dropout is off,
    so each image's prediction does not depend on the rest of the batch.
    """

    def __init__(self, n_features: int = 128, p_dropout: float = 0.3):
        super().__init__()
        self.n_features = n_features
        self.body = nn.Sequential(
            _conv_bn_relu(1, 16), _conv_bn_relu(16, 16), nn.MaxPool2d(2),  # (N, 16, 14, 14)
            _conv_bn_relu(16, 32), _conv_bn_relu(32, 32), nn.MaxPool2d(2),  # (N, 32, 7, 7)
            _conv_bn_relu(32, 64), nn.MaxPool2d(2),  # (N, 64, 3, 3): floor(7 / 2) = 3
        )
        self.fc = nn.Linear(64 * 3 * 3, n_features)
        self.dropout = nn.Dropout(p_dropout)
        self.head = nn.Linear(n_features, N_CLASSES)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate activations: (N, 1, 28, 28) in [0, 1] -> (N, n_features), non-negative (after ReLU).

        The input is validated as the judge's (``images.check_images``): an unbatched image or 0..255 pixels are
        refused with the fix instead of giving confident nonsense."""
        check_images(x.detach(), DIGIT_SHAPE)
        h = self.body(x)  # (N, 64, 3, 3)
        return F.relu(self.fc(h.flatten(1)))  # (N, n_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits: (N, 1, 28, 28) -> (N, 10); softmax gives p(k | x)."""
        return self.head(self.dropout(self.features(x)))


def load_digit_classifier(
    path: Path | str | None = None, device: str | torch.device = "cpu", sha256: str | None = None
) -> DigitClassifier:
    """The trained judge in ``eval()`` mode on ``device``.

    ``path=None`` loads the shipped weights and checks them against :data:`WEIGHTS_SHA256`. For a file
    of your own (``scripts/train_digit_classifier.py --out PATH``) the hash is checked only if you pass
    ``sha256``. Any failure (missing, corrupted or truncated file, wrong hash, a state dict of another
    architecture) raises :class:`ClassifierWeightsError` saying how to rebuild the weights.
    """
    if path is None:
        path, sha256 = WEIGHTS_PATH, WEIGHTS_SHA256 if sha256 is None else sha256
    path = Path(path)
    if not path.is_file():
        raise ClassifierWeightsError(f"digit classifier weights {path} do not exist: {_RETRAIN_HINT}.")
    if sha256 is not None:
        digest = sha256_of(path)
        if digest != sha256:
            raise ClassifierWeightsError(
                f"digit classifier weights {path} have sha256 {digest}, expected {sha256}: the file is "
                f"corrupted, truncated or from another training run; {_RETRAIN_HINT}."
            )
    try:
        # weights_only: a weights file is data, never code to run.
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # zip/pickle errors of a damaged file come in many types
        raise ClassifierWeightsError(
            f"digit classifier weights {path} could not be read ({type(e).__name__}: {e}); {_RETRAIN_HINT}."
        ) from e
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ClassifierWeightsError(
            f"{path} does not hold a state dict of tensors (found {type(state).__name__}); {_RETRAIN_HINT}."
        )
    model = DigitClassifier()
    expected = {k: v.shape for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    found = {k: v.shape for k, v in state.items() if not k.endswith("num_batches_tracked")}
    if expected != found:
        missing, unexpected = sorted(expected.keys() - found.keys()), sorted(found.keys() - expected.keys())
        resized = sorted(k for k in expected.keys() & found.keys() if expected[k] != found[k])
        raise ClassifierWeightsError(
            f"{path} holds a state dict of another architecture than DigitClassifier "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]}, other shapes {resized[:3]}): "
            f"it was saved from another model or an older version; {_RETRAIN_HINT}."
        )
    # The shipped file omits BatchNorm's num_batches_tracked (an integer counter that is unused with a
    # fixed momentum), so it holds float32 tensors only; strict=False lets those counters stay 0.
    model.load_state_dict(state, strict=False)
    return model.to(device).eval()


@dataclass(frozen=True, eq=False)
class DigitJudgement:
    """What the judge says about N images.

    n: number of images; threshold: the confidence threshold tau;
    confident_share: share of images with max_k p(k | x) >= threshold;
    class_shares: 10-tuple, share of all images predicted as each digit (sums to 1);
    min_class_share: min(class_shares);
    predicted: (N,) int64 argmax classes; max_prob: (N,) float32 largest probabilities;
    label_accuracy: share predicted == the requested label, or None without labels;
    confident_by_label: 10-tuple, for each requested label k the confident share among the images
    generated for k (NaN for a label never requested), or None without labels.
    """

    n: int
    threshold: float
    confident_share: float
    class_shares: tuple[float, ...]
    min_class_share: float
    predicted: torch.Tensor
    max_prob: torch.Tensor
    label_accuracy: float | None = None
    confident_by_label: tuple[float, ...] | None = None

    def summary(self) -> str:
        """One line, e.g. '2000 samples: 91.2% confident (p>=0.9); classes 7.1%-12.9% (fewest: 4)'."""
        shares = self.class_shares
        fewest = min(range(N_CLASSES), key=lambda k: shares[k])
        text = (
            f"{self.n} samples: {100 * self.confident_share:.1f}% confident (p>={self.threshold:g}); "
            f"classes {100 * self.min_class_share:.1f}%-{100 * max(shares):.1f}% (fewest: {fewest})"
        )
        if self.label_accuracy is not None:
            text += f"; {100 * self.label_accuracy:.1f}% classified as their label"
        return text


@torch.no_grad()
def judge_digits(
    images,
    classifier: DigitClassifier | None = None,
    threshold: float = 0.9,
    labels=None,
    batch_size: int = 500,
) -> DigitJudgement:
    """Score (N, 1, 28, 28) images in [0, 1] with the digit classifier (see the module docstring).

    ``classifier=None`` loads the shipped one; a given classifier is used in ``eval()`` mode and put
    back in the mode it was in. ``labels`` (N,) int in 0..9, for conditional samples, adds
    ``label_accuracy`` and ``confident_by_label``. Inference runs in batches of ``batch_size`` on the classifier's device.
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be a probability in (0, 1], got {threshold}.")
    images = check_images(images, DIGIT_SHAPE)
    n = images.shape[0]
    labels = check_labels(labels, N_CLASSES, n).cpu() if labels is not None else None
    if classifier is None:
        classifier = load_digit_classifier()
    device = next(classifier.parameters()).device
    was_training = classifier.training
    classifier.eval()
    try:
        probs = torch.cat(
            [
                F.softmax(classifier(images[i : i + batch_size].to(device, torch.float32)), dim=1).cpu()
                for i in range(0, n, batch_size)
            ]
        )  # (N, 10)
    finally:
        classifier.train(was_training)
    max_prob, predicted = probs.max(dim=1)
    counts = torch.bincount(predicted, minlength=N_CLASSES)
    class_shares = tuple((counts.double() / n).tolist())
    return DigitJudgement(
        n=n,
        threshold=float(threshold),
        confident_share=(max_prob >= threshold).double().mean().item(),
        class_shares=class_shares,
        min_class_share=min(class_shares),
        predicted=predicted,
        max_prob=max_prob,
        label_accuracy=None if labels is None else (predicted == labels).double().mean().item(),
        confident_by_label=None if labels is None else tuple(
            (max_prob[labels == k] >= threshold).double().mean().item() for k in range(N_CLASSES)
        ),
    )
