"""Checks of notebook 04 (conditional GAN): label maps for the discriminator, the projection discriminator's
logit, and AC-GAN's discriminator loss."""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch

from .core import BATCH_MEAN, CheckFailed, diagnose, floats, logistic_d_loss, mean, tensor

__all__ = ["check_one_hot_maps", "check_projection_logits", "check_acgan_d_loss"]


def check_one_hot_maps(fn: Callable) -> None:
    """Check ``fn(y, n_classes, size)``: (N,) labels -> (N, K, size, size), channel y all ones, the rest zeros."""
    name = "one_hot_maps"
    y, k, size = [2, 0, 3], 4, 5
    out = fn(torch.tensor(y), k, size)
    if isinstance(out, torch.Tensor) and tuple(out.shape) == (len(y), size, size, k):
        raise CheckFailed(f"{name}: channels last (N, size, size, K); D's convolutions want channels first (N, K, size, size): "
                          "index the one-hot vector as [:, :, None, None] and expand")
    got = floats(out, name, (len(y), k, size, size), f"(N, K, size, size) for {len(y)} labels, {k} classes, size {size}")
    if not out.is_floating_point():
        raise CheckFailed(f"{name}: the maps are concatenated with float images; return floats (.float()), got {out.dtype}")

    def maps(lit: Callable[[int], int], on: float = 1.0, off: float = 0.0) -> list[float]:
        # for each image, channel lit(label) filled with ``on``, the others with ``off``
        return [on if c == lit(label) else off for label in y for c in range(k) for _ in range(size * size)]

    per_image = k * size * size
    corners = [got[i * per_image:(i + 1) * per_image:size * size] for i in range(len(y))]
    if all(c == corners[0] for c in corners):  # the labels differ, so the maps must too
        raise CheckFailed(f"{name}: every image got the same maps: the label is ignored (use each sample's own y)")
    off_by_one = "off by one: class k must light channel k (labels start at 0)"
    diagnose(name, got, maps(lambda label: label), [
        (maps(lambda label: (label + 1) % k), off_by_one),
        (maps(lambda label: (label - 1) % k), off_by_one),
        (maps(lambda label: label, on=0.0, off=1.0), "inverted: channel y should be ones and the others zeros"),
    ], what=f"for labels {y} with {k} classes, image i should have channel y[i] all ones and the rest zeros",
        tol=(0.0, 0.0), mistake_tol=(0.0, 0.0))
    print(f"✓ {name}: channel y is all ones, the other K - 1 channels zero, shape (N, K, size, size)")


def check_projection_logits(fn: Callable) -> None:
    """Check ``fn(psi, phi, V, y)``: psi (N,) + <V[y], phi> (N,), the projection discriminator's logit."""
    name = "projection_logits"
    psi = [0.5, -1.0, 2.0]
    phi = [[1.0, 2.0], [0.0, -1.0], [3.0, 1.0]]
    V = [[1.0, 0.0], [0.0, 1.0], [2.0, -1.0]]
    y = [2, 0, 1]
    out = fn(tensor(psi), tensor(phi), tensor(V), torch.tensor(y))
    if isinstance(out, torch.Tensor) and tuple(out.shape) == (3, 3):
        raise CheckFailed(f"{name}: got a (N, K) matrix, the logits for every class; pick each image's own class: V[y] (N, F), "
                          "then sum (V[y] * phi) over the features")
    if isinstance(out, torch.Tensor) and out.numel() == 1:
        raise CheckFailed(f"{name}: got one number: sum over the feature dimension (dim=1) only, not over the batch")
    got = floats(out, name, (3,), "one logit per image")
    inner = [sum(V[k][j] * phi[i][j] for j in range(2)) for i, k in enumerate(y)]
    diagnose(name, got, [p + q for p, q in zip(psi, inner)], [
        (inner, "the unconditional term psi(phi(x)) is missing: D(x, y) = psi + <V_y, phi>"),
        (psi, "the label term <V_y, phi(x)> is missing: the logit ignores the label"),
        ([p * q for p, q in zip(psi, inner)], "multiplied psi by the inner product; the two terms add"),
        ([p + sum(V[i][j] * phi[i][j] for j in range(2)) for i, p in enumerate(psi)],
         "used V[i] for image i (the row of the batch position), not V[y[i]] (the row of its class)"),
    ], mistake_tol=(1e-5, 1e-6))
    print(f"✓ {name}: psi(phi(x)) + <V_y, phi(x)>, one logit per image")


def _log_softmax(row: Sequence[float]) -> list[float]:
    m = max(row)
    lse = m + math.log(sum(math.exp(a - m) for a in row))
    return [a - lse for a in row]


def check_acgan_d_loss(fn: Callable) -> None:
    """Check ``fn(real_logits, fake_logits, real_class_logits, fake_class_logits, y_real, y_fake)`` (AC-GAN's L_D)."""
    name = "acgan_d_loss"
    r, f = [1.5, -0.5], [-2.0, 0.3]
    rc, fc = [[2.0, 0.0, -1.0], [0.1, 0.2, 0.3]], [[0.0, 1.0, 0.0], [-1.0, 0.5, 2.0]]
    yr, yf = [0, 2], [1, 0]
    adv = logistic_d_loss(r, f)

    def ce(rows, ys):  # cross-entropy of class logits
        return mean([-_log_softmax(row)[k] for row, k in zip(rows, ys)])

    def ce_of_probs(rows, ys):  # cross_entropy applied to softmax outputs: a softmax taken twice
        return ce([[math.exp(v) for v in _log_softmax(row)] for row in rows], ys)

    ce_r, ce_f = ce(rc, yr), ce(fc, yf)
    got = floats(fn(tensor(r), tensor(f), tensor(rc), tensor(fc), torch.tensor(yr), torch.tensor(yf)), name,
                 hint=BATCH_MEAN)
    diagnose(name, got, adv + ce_r + ce_f, [
        (adv + ce_r, "the class loss on the fakes is missing: AC-GAN's D also classifies G's images as the class they were made for"),
        (adv + ce_f, "the class loss on the real images is missing"),
        (ce_r + ce_f, "the real/fake (adversarial) loss is missing"),
        (adv, "the auxiliary class loss is missing: add cross-entropy of the class logits on real and fake images"),
        (adv + ce_of_probs(rc, yr) + ce_of_probs(fc, yf), "softmax taken twice: F.cross_entropy wants raw class logits"),
        (adv + ce(rc, yf) + ce(fc, yr), "swapped the labels: y_real goes with the real images' class logits, y_fake with the fakes'"),
        (adv - ce_r - ce_f, "sign error: D minimises the cross-entropy (it maximises log-likelihood)"),
    ])
    print(f"✓ {name}: logistic real/fake loss + cross-entropy of the class on real and on fake images")
