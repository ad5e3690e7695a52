r"""Checks of notebook 09 (CycleGAN): the least-squares discriminator loss, the generators' whole objective, and the
pool of generated images.

Each check runs the learner's code on stand-ins whose answers are known in closed form: score maps shaped like a
PatchGAN's, of two batch sizes; affine "generators" :math:`G(x) = 0.5x + 0.2` and :math:`F(x) = 1.5x - 0.1` and
"discriminators" that score each quarter of an image by its mean, :math:`D(x) = c_1\,\bar x_{patch} + c_0` (each
common mistake in the objective then gives its own number); and, for the pool, images that each carry their own
number, so that every image the pool returns can be traced. Expected values are worked out in float64 from
explicit formulas; failure messages name the mistake and where to look, never the answer.
"""

from __future__ import annotations

import random
from typing import Callable

import numpy as np
import torch
from torch import nn

from .core import CheckFailed, diagnose, fixed_values, floats, logistic_d_loss, mean, numbers, tensor

__all__ = ["check_lsgan_d_loss", "check_generator_objective", "check_image_pool"]


def _no_number(message: str) -> Callable[[int], str]:
    """A ``what`` for :func:`diagnose` that reports a wrong value without printing the expected one."""
    return lambda _: message


# ----------------------------------------------------------------------------------------------------
# The least-squares discriminator loss
# ----------------------------------------------------------------------------------------------------

REAL_SHAPE, FAKE_SHAPE = (3, 1, 2, 2), (2, 1, 2, 2)  # PatchGAN-like score maps, two batch sizes
REAL_SCORES = fixed_values(12, 0.7, 0.4)
FAKE_SCORES = fixed_values(8, 1.3, -0.2)


def _lsgan_d_values(real: list[float], fake: list[float], per_image: int) -> dict[str, float]:
    """The least-squares discriminator loss on flat score lists, and the values of the usual mistakes."""
    sq_real = [(r - 1.0) ** 2 for r in real]
    sq_fake = [f ** 2 for f in fake]
    return {
        "right": 0.5 * mean(sq_real) + 0.5 * mean(sq_fake),
        "swapped": 0.5 * mean([r ** 2 for r in real]) + 0.5 * mean([(f - 1.0) ** 2 for f in fake]),
        "no_half": mean(sq_real) + mean(sq_fake),
        "logistic": logistic_d_loss(real, fake),
        "logistic_half": 0.5 * logistic_d_loss(real, fake),
        "sum": 0.5 * sum(sq_real) + 0.5 * sum(sq_fake),
        "sum_no_half": sum(sq_real) + sum(sq_fake),
        "per_image_sum": per_image * (0.5 * mean(sq_real) + 0.5 * mean(sq_fake)),
        "l1": 0.5 * mean([abs(r - 1.0) for r in real]) + 0.5 * mean([abs(f) for f in fake]),
        "l1_no_half": mean([abs(r - 1.0) for r in real]) + mean([abs(f) for f in fake]),
    }


def check_lsgan_d_loss(fn: Callable) -> None:
    """Check ``fn(real_scores, fake_scores)``: the least-squares discriminator loss, half the mean squared distance of
    the real scores from 1 plus half the mean square of the fake scores, each mean over every score of its own batch
    (score maps of shape (B, 1, H, W), real and fake batches of different sizes)."""
    name = "lsgan_d_loss"
    real = tensor(REAL_SCORES).reshape(REAL_SHAPE)
    fake = tensor(FAKE_SCORES).reshape(FAKE_SHAPE)
    got = floats(fn(real, fake), name, hint="average each batch's squared errors over every score of its map")
    v = _lsgan_d_values(numbers(real), numbers(fake), per_image=REAL_SHAPE[2] * REAL_SHAPE[3])
    diagnose(name, got, v["right"], [
        (v["swapped"], "the targets are swapped: the discriminator pushes real scores towards 1 and fake scores "
         "towards 0"),
        (v["no_half"], "twice the loss: each of the two terms carries a factor of one half, as in the least-squares "
         "GAN paper and CycleGAN"),
        (v["logistic"], "that is the logistic (cross-entropy) loss: the least-squares loss takes the squared distance "
         "of each score from its target, no sigmoid, no log"),
        (v["logistic_half"], "that is the logistic (cross-entropy) loss, halved: the least-squares loss takes the "
         "squared distance of each score from its target, no sigmoid, no log"),
        (v["sum"], "summed over the batch: the two batches differ in size, take each one's mean"),
        (v["sum_no_half"], "summed over the batch: the two batches differ in size, take each one's mean"),
        (v["per_image_sum"], "each image's score map is summed: a PatchGAN's scores are averaged, every patch's "
         "score counts once in the mean over the batch"),
        (v["l1"], "absolute distances (L1): the least-squares loss squares each score's distance from its target"),
        (v["l1_no_half"], "absolute distances (L1): the least-squares loss squares each score's distance from its "
         "target"),
    ], what=_no_number(f"the value ({got:.6g}) matches none of the usual mistakes: the loss is half the mean squared "
                       "distance of the real scores from 1 plus half the mean square of the fake scores"))
    print(f"✓ {name}: half the mean squared error of real scores against 1 and of fake scores against 0, each "
          "averaged over its own batch and every patch")


# ----------------------------------------------------------------------------------------------------
# The generators' objective
# ----------------------------------------------------------------------------------------------------

IMAGES_SHAPE = (2, 1, 4, 4)
G_AFFINE, F_AFFINE = (0.5, 0.2), (1.5, -0.1)  # x -> scale x + shift
D_A_CONST, D_B_CONST = (0.8, 0.3), (-0.6, 0.9)  # patch mean m -> c1 m + c0


def _patch_scores(x: torch.Tensor, c1, c0) -> torch.Tensor:
    """(B, C, H, W) -> (B, 1, 2, 2): c1 times the mean of each quarter of the image, plus c0."""
    n, c, h, w = x.shape
    quarters = x.reshape(n, c, 2, h // 2, 2, w // 2).mean(dim=(1, 3, 5))  # (B, 2, 2)
    return (c1 * quarters + c0).unsqueeze(1)


class _Affine(nn.Module):
    """A stand-in generator x -> scale x + shift, with the scale and shift as parameters (to follow the gradient)."""

    def __init__(self, scale: float, shift: float):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(scale))
        self.shift = nn.Parameter(torch.tensor(shift))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * x + self.shift


class _PatchMean(nn.Module):
    """A stand-in PatchGAN: one score per quarter of the image, c1 times its mean plus c0."""

    def __init__(self, c1: float, c0: float):
        super().__init__()
        self.c1, self.c0 = c1, c0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _patch_scores(x, self.c1, self.c0)


def _objective_values(a: torch.Tensor, b: torch.Tensor, lam: float, li: float) -> dict[str, float]:
    """The generators' objective for the stand-ins in float64, and the values of the usual mistakes."""
    a, b = a.double(), b.double()
    G = lambda x: G_AFFINE[0] * x + G_AFFINE[1]  # noqa: E731
    F = lambda x: F_AFFINE[0] * x + F_AFFINE[1]  # noqa: E731
    D_A = lambda x: _patch_scores(x, *D_A_CONST)  # noqa: E731
    D_B = lambda x: _patch_scores(x, *D_B_CONST)  # noqa: E731
    ls = lambda s: float(((s - 1) ** 2).mean())  # noqa: E731
    l1 = lambda x, y: float((x - y).abs().mean())  # noqa: E731
    l2 = lambda x, y: float(((x - y) ** 2).mean())  # noqa: E731
    gan = ls(D_B(G(a))) + ls(D_A(F(b)))
    cyc_a, cyc_b = l1(F(G(a)), a), l1(G(F(b)), b)
    idt = l1(G(b), b) + l1(F(a), a)
    right_but = lambda gan=gan, cyc=cyc_a + cyc_b, idt=idt: gan + lam * cyc + li * lam * idt  # noqa: E731
    return {
        "right": right_but(),
        "idt_source": right_but(idt=l1(G(a), a) + l1(F(b), b)),
        "lam_on_gan": right_but(gan=lam * gan),
        "idt_weight_alone": gan + lam * (cyc_a + cyc_b) + li * idt,
        "cycle_a_only": right_but(cyc=cyc_a),
        "cycle_b_only": right_but(cyc=cyc_b),
        "cycle_squared": right_but(cyc=l2(F(G(a)), a) + l2(G(F(b)), b)),
        "d_swapped": right_but(gan=ls(D_A(G(a))) + ls(D_B(F(b)))),
        "no_identity": right_but(idt=0.0),
    }


def _objective_mistakes(v: dict[str, float]) -> list[tuple[float, str]]:
    return [
        (v["idt_source"], "the identity term feeds each generator its source domain: it feeds G an image that is "
         "already of B (and F one of A) and asks that it be left unchanged"),
        (v["lam_on_gan"], "lambda weights the GAN terms too: it weights only the cycle term (and, through "
         "lambda_identity, the identity term); the GAN terms are added unweighted"),
        (v["idt_weight_alone"], "the identity term is weighted by lambda_identity alone: lambda_identity is a fraction "
         "of lambda, the identity term's weight is their product"),
        (v["cycle_a_only"], "only one cycle direction: the cycle term has a reconstruction error for a -> B -> A and "
         "one for b -> A -> B"),
        (v["cycle_b_only"], "only one cycle direction: the cycle term has a reconstruction error for a -> B -> A and "
         "one for b -> A -> B"),
        (v["cycle_squared"], "squared errors in the cycle term: the reconstruction error is the mean absolute "
         "difference (L1)"),
        (v["d_swapped"], "the discriminators are swapped: G's translations are judged by D_B (the judge of domain "
         "B), F's by D_A"),
        (v["no_identity"], "the identity term is missing (with lambda_identity > 0 it is part of the objective)"),
    ]


def check_generator_objective(fn: Callable) -> None:
    """Check ``fn(G, F, D_A, D_B, a, b, lam, lam_identity)``: the generators' total CycleGAN objective, the two
    least-squares GAN terms, plus lam times the two L1 cycle errors, plus lam_identity * lam times the two L1
    identity errors (each generator fed an image of its target domain), one number that trains both generators."""
    name = "generator_objective"
    gen = torch.Generator().manual_seed(9)
    a = torch.rand(IMAGES_SHAPE, generator=gen) * 2 - 1
    b = torch.rand(IMAGES_SHAPE, generator=gen) * 1.6 - 0.5  # the two domains differ
    hint = "the total: one number, the sum of the weighted terms"
    setting = "(stand-in generators and PatchGAN discriminators whose outputs are known)"
    for lam, li in ((10.0, 0.5), (3.0, 0.2)):
        G, F = _Affine(*G_AFFINE), _Affine(*F_AFFINE)
        out = fn(G, F, _PatchMean(*D_A_CONST), _PatchMean(*D_B_CONST), a.clone(), b.clone(), lam, li)
        got = floats(out, name, hint=hint)
        v = _objective_values(a, b, lam, li)
        wrong = _objective_mistakes(v)
        if (lam, li) != (10.0, 0.5):
            fixed = _objective_values(a, b, 10.0, 0.5)
            wrong += [(fixed["right"], "the weights passed in are ignored (fixed at the paper's values?): use the "
                       "arguments lam and lam_identity"),
                      (_objective_values(a, b, 10.0, li)["right"], "the lam passed in is ignored: use the argument"),
                      (_objective_values(a, b, lam, 0.5)["right"], "the lam_identity passed in is ignored: use the "
                       "argument")]
        diagnose(name, got, v["right"], wrong, what=_no_number(
            f"the value ({got:.6g}) matches none of the usual mistakes {setting}, with lam = {lam:g} and "
            f"lam_identity = {li:g}: check each of the three kinds of term and its weight"))
        if not isinstance(out, torch.Tensor) or not out.requires_grad:
            raise CheckFailed(f"{name}: the value is right but it cannot train the generators: it is detached from "
                              "their parameters. Look for a translation computed without gradients, or a conversion "
                              "to a Python number")
        out.backward()
        for net, who in ((G, "G"), (F, "F")):
            if net.scale.grad is None:
                raise CheckFailed(f"{name}: the value is right but no gradient reaches {who}'s parameters: one of "
                                  f"{who}'s outputs was detached before it entered the loss")
    print(f"✓ {name}: both GAN terms, both cycle directions (L1, weighted by lambda), the identity terms on each "
          "generator's target domain (weighted by lambda_identity times lambda); gradients reach G and F")


# ----------------------------------------------------------------------------------------------------
# The pool of generated images
# ----------------------------------------------------------------------------------------------------

POOL_SIZE = 5
POOL_BATCH = 2
POOL_QUERIES = 1000  # 2000 images, of which 1995 arrive once the pool is full
# Each image arriving at a full pool is passed through with probability 1/2. Over n = 1995 independent draws the
# share passed through has standard deviation sqrt(0.25 / n) = 0.0112, or 0.0158 if a pool decided once per batch
# of two; 0.06 is over 5 (resp. 3.8) standard deviations: a right pool fails by chance less than once in 5000 runs.
SHARE_TOLERANCE = 0.06
POOL_IMAGE = (1, 28, 28)  # the course's images (the module's pool is sized for them)


def _stored_tensors(pool) -> list[torch.Tensor]:
    """The tensors the pool holds in its attributes (its buffers, lists or tuples of images, one level of dicts)."""
    found: list[torch.Tensor] = []

    def collect(value, depth: int) -> None:
        if isinstance(value, torch.Tensor):
            found.append(value)
        elif isinstance(value, (list, tuple)) or type(value).__name__ == "deque":
            for item in value:
                if isinstance(item, torch.Tensor):
                    found.append(item)
        elif isinstance(value, dict) and depth == 0:
            for item in value.values():
                collect(item, 1)

    for value in vars(pool).values():
        collect(value, 0)
    return found


def _images_held(pool) -> int:
    """The largest number of images held in any one of the pool's attributes."""
    held = 0
    for value in list(vars(pool).values()) + list(getattr(pool, "_buffers", {}).values()):
        if isinstance(value, torch.Tensor) and value.dim() == 4:
            held = max(held, value.shape[0])
        elif isinstance(value, (list, tuple)) or type(value).__name__ == "deque":
            held = max(held, sum(t.shape[0] if t.dim() == 4 else 1 for t in value
                                 if isinstance(t, torch.Tensor) and t.dim() in (3, 4)))
    return held


def _ids(out, name: str, shape: tuple) -> list[float]:
    """The number each returned image carries (NaN for an image that is not one of those given)."""
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != shape:
        what = f"a tensor of shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else type(out).__name__
        raise CheckFailed(f"{name} returned {what}, expected a batch of the same shape as the one given, {shape}")
    flat = out.detach().reshape(shape[0], -1).double()
    same = (flat == flat[:, :1]).all(dim=1)
    return [float(v) if s else float("nan") for v, s in zip(flat[:, 0].tolist(), same.tolist())]


def _batch(first_id: int, n: int = POOL_BATCH) -> torch.Tensor:
    """n images, image i filled with the number first_id + i (exact in float32)."""
    ids = torch.arange(first_id, first_id + n, dtype=torch.float32).reshape(n, 1, 1, 1)
    return ids.expand(n, *POOL_IMAGE).clone()


def _check_size(pool, name: str) -> None:
    held = _images_held(pool)
    if held > POOL_SIZE:
        raise CheckFailed(f"{name}: the pool holds {held} images, more than its size ({POOL_SIZE}): it stops storing "
                          "once full; from then on a new image only takes the place of the stored one it is "
                          "swapped for")


def _check_detached(pool_cls, name: str) -> None:
    """Images that arrive attached to a graph leave, and are stored, detached."""
    attached = "stores images that are still attached to the generator's graph: store detached copies (the " \
               "discriminator's step must not reach back into the generator)"
    pool = pool_cls(POOL_SIZE)
    leaf = _batch(1, POOL_SIZE).requires_grad_(True)
    out = pool.query(leaf * 2)  # what a generator's output looks like: the result of an operation that needs grad
    if any(t.requires_grad or t.grad_fn is not None for t in _stored_tensors(pool)):
        raise CheckFailed(f"{name}: {attached}")
    if isinstance(out, torch.Tensor) and (out.requires_grad or out.grad_fn is not None):
        raise CheckFailed(f"{name}: returns images that are still attached to the generator's graph: the "
                          "discriminator's step must not reach back into the generator; return detached images")
    for i in range(10):  # the stored images come back: they must be detached too
        back = pool.query(_batch(100 + POOL_BATCH * i))
        if isinstance(back, torch.Tensor) and (back.requires_grad or back.grad_fn is not None):
            raise CheckFailed(f"{name}: {attached}")


def _run_pool(pool_cls, name: str) -> tuple[int, int]:
    """Fill and query a pool, tracing every returned image; returns (new images passed through, images after full)."""
    pool = pool_cls(POOL_SIZE)
    given: set[float] = set()
    passed: set[float] = set()  # passed through once the pool was full: never stored
    swapped_out: set[float] = set()  # returned as stored images in an earlier query: no longer in the pool
    new_count = full_count = 0
    next_id = 1
    for _ in range(POOL_QUERIES):
        images = _batch(next_id)
        new_ids = [float(next_id + j) for j in range(POOL_BATCH)]
        next_id += POOL_BATCH
        out = pool.query(images)
        got = _ids(out, f"{name}.query", tuple(images.shape))
        _check_size(pool, name)
        returned_now: set[float] = set()
        for j, (new, back) in enumerate(zip(new_ids, got)):
            given.add(new)
            if new <= POOL_SIZE:  # the pool is filling
                if not torch.equal(out[j].detach().to(images.dtype), images[j]):
                    raise CheckFailed(f"{name}: the first {POOL_SIZE} images (the pool's size) are not passed "
                                      "through unchanged: while the pool is filling, each image is stored and "
                                      "returned as it is")
                continue
            full_count += 1
            if back == new:
                new_count += 1
                passed.add(new)
                continue
            if back != back or back not in given:
                raise CheckFailed(f"{name}: returned an image it was never given (an empty slot, or a mixture of "
                                  "images?): once full, each image is either passed through or swapped for a whole "
                                  "stored image")
            if back in passed:
                raise CheckFailed(f"{name}: returned, as a stored image, one it had passed through: an image that is "
                                  "passed through is not stored; only the first images and those swapped in are")
            if back in swapped_out:
                raise CheckFailed(f"{name}: returned a stored image a second time: once a stored image is returned it "
                                  "leaves the pool, and the new image takes its place")
            returned_now.add(back)
        swapped_out |= returned_now
    return new_count, full_count


def check_image_pool(cls: Callable) -> None:
    """Check ``cls(size)``, a pool whose ``query(images)`` returns a batch of the same shape: the first ``size`` images
    are stored and passed through; once full, each image is with probability 1/2 swapped for a stored one picked at
    random (the stored one is returned, the new one takes its place), else passed through. Stored and returned images
    are detached; the pool never holds more than ``size``. Randomness: torch's global generator (Python's ``random``
    and NumPy's also work), seeded here and restored afterwards."""
    name = "ImagePool"
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            random.seed(0)
            np.random.seed(0)
            new_count, full_count = _run_pool(cls, name)
            _check_detached(cls, name)
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
    share = new_count / full_count
    if share == 1.0:
        raise CheckFailed(f"{name}: once full it always returns the new image: each image should, with probability "
                          "1/2, be swapped for a stored one (the discriminator is meant to see older fakes too)")
    if share == 0.0:
        raise CheckFailed(f"{name}: once full it always returns a stored image: each new image should, with "
                          "probability 1/2, be passed through instead")
    if abs(share - 0.5) > SHARE_TOLERANCE:
        raise CheckFailed(f"{name}: once full it passed {share:.0%} of {full_count} new images through; about half "
                          "should be (each swapped for a stored one with probability 1/2)")
    print(f"✓ {name}: the first {POOL_SIZE} images pass through; once full, {share:.1%} of {full_count} new images "
          "passed through and the rest swapped for stored ones; never more than its size; detached")
