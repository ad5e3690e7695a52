r"""Checks of notebook 08 (stability): the Wasserstein losses, the gradient penalty and one power-iteration step.

Each check runs the learner's function on stand-ins whose answers are known in closed form: a critic
:math:`f(x) = \tfrac{a}{2}\lVert x\rVert^2` (its gradient :math:`a x` differs from sample to sample, so a penalty
taken per element, or one interpolation weight for the whole batch, gives another number) and a linear critic
:math:`f(x) = w \cdot x` (penalty :math:`(\lVert w\rVert - 1)^2`). Failure messages name the mistake and where to
look, never the answer.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import nn

from .core import CheckFailed, diagnose, floats, tensor

__all__ = ["check_wasserstein_losses", "check_gradient_penalty", "check_power_iteration"]

REAL = [1.5, -0.8, 0.3, 2.2, -2.0]
FAKE = [-1.2, 0.5, -3.0, 0.9]


def _mean(xs) -> float:
    return sum(xs) / len(xs)


def check_wasserstein_losses(d_loss: Callable, g_loss: Callable) -> None:
    """Check ``d_loss(real_scores, fake_scores)`` (the critic minimises it) and ``g_loss(fake_scores)``."""
    real, fake = tensor(REAL), tensor(FAKE)
    softplus = lambda a: math.log1p(math.exp(-abs(a))) + max(a, 0.0)  # noqa: E731
    name = "d_wasserstein_loss"
    got = floats(d_loss(real, fake), name, hint="average the scores over the batch")
    diagnose(name, got, _mean(FAKE) - _mean(REAL), [
        (_mean(REAL) - _mean(FAKE), "the sign is flipped: this critic would rate fakes above real images; it "
         "minimises a loss whose minimum is reached when real scores are high"),
        (_mean([softplus(-a) for a in REAL]) + _mean([softplus(a) for a in FAKE]),
         "that is the logistic (cross-entropy) loss: a critic's scores are not probabilities, use them as they are"),
        (sum(FAKE) - sum(REAL), "summed over the batch: the two batches differ in size, take each one's mean"),
        (_mean([f - r for f, r in zip(FAKE, REAL)]), "paired real and fake scores one by one: the batches are "
         "independent and may differ in size; take each side's mean separately"),
    ], "(real and fake scores of different batch sizes)")
    name = "g_wasserstein_loss"
    got = floats(g_loss(fake), name, hint="average the scores over the batch")
    diagnose(name, got, -_mean(FAKE), [
        (_mean(FAKE), "the sign is flipped: the generator wants its samples to score high"),
        (_mean([softplus(-a) for a in FAKE]), "that is the non-saturating logistic loss: a critic's score is used as it is"),
        (-sum(FAKE), "summed over the batch: take the mean"),
    ])
    print("✓ d_wasserstein_loss, g_wasserstein_loss: the critic's and the generator's losses on scores of unequal batches")


class _Quadratic(nn.Module):
    """f(x) = a/2 |x|^2 per sample: gradient a x."""

    def __init__(self, a: float = 0.8):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(a))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * self.a * x.flatten(1).pow(2).sum(1)


def _penalty_values(real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor, a: float) -> dict[str, float]:
    """The penalty of the quadratic critic for eps (B,), and the values of the usual mistakes."""
    e = eps.double().reshape(-1, *([1] * (real.dim() - 1)))
    x_hat = (e * real.double() + (1 - e) * fake.double()).flatten(1)
    grad = a * x_hat
    norm = grad.norm(dim=1)
    first = eps[:1].double().expand_as(eps)
    e1 = first.reshape(e.shape)
    norm_batch = (a * (e1 * real.double() + (1 - e1) * fake.double()).flatten(1)).norm(dim=1)
    return {
        "right": float(((norm - 1) ** 2).mean()),
        "element": float(((grad.abs() - 1) ** 2).mean()),
        "batch_eps": float(((norm_batch - 1) ** 2).mean()),
        "target0": float((norm ** 2).mean()),
        "negative": float(-((norm - 1) ** 2).mean()),
        "squared_norm": float(((norm ** 2 - 1) ** 2).mean()),
        "sum": float(((norm - 1) ** 2).sum()),
        "real_only": float(((a * real.double().flatten(1).norm(dim=1) - 1) ** 2).mean()),
        "fake_only": float(((a * fake.double().flatten(1).norm(dim=1) - 1) ** 2).mean()),
        "whole_batch_norm": float((grad.norm() - 1) ** 2),
    }


def check_gradient_penalty(fn: Callable) -> None:
    """Check ``fn(D, real, fake, generator)``: WGAN-GP's penalty E[(|grad D(x_hat)| - 1)^2] without lambda, one
    interpolation weight per sample drawn with ``torch.rand(..., generator=generator)``, the norm per sample."""
    name = "gradient_penalty"
    g = torch.Generator().manual_seed(7)
    real = torch.randn(6, 1, 2, 2, generator=g)
    fake = torch.randn(6, 1, 2, 2, generator=g) * 0.5 + 1.0
    a = 0.8
    eps = torch.rand(6, generator=torch.Generator().manual_seed(0))
    values = _penalty_values(real, fake, eps, a)
    D = _Quadratic(a)
    out = fn(D, real, fake, torch.Generator().manual_seed(0))
    got = floats(out, name, hint="average the per-sample penalties over the batch")
    diagnose(name, got, values["right"], [
        (values["element"], "the penalty is taken per element (per pixel), not per sample: the constraint is on the "
         "length of each sample's whole gradient vector"),
        (values["batch_eps"], "one interpolation weight for the whole batch: draw one weight per sample, broadcast over "
         "that sample's pixels"),
        (values["whole_batch_norm"], "one norm over the whole batch's gradient: take one norm per sample (over every "
         "dimension but the first)"),
        (values["target0"], "the target is 0: the penalty pulls the gradient's norm towards 1, not towards 0"),
        (values["negative"], "the sign is flipped: the penalty is added to the critic's loss, so it must be >= 0"),
        (values["squared_norm"], "the squared norm minus 1: take the norm itself (the square root of the sum of squares)"),
        (values["sum"], "summed over the batch: take the mean"),
        (values["real_only"], "evaluated at the real images: the penalty is taken at points between real and fake"),
        (values["fake_only"], "evaluated at the fake images: the penalty is taken at points between real and fake"),
    ], "(a critic a/2 |x|^2, six samples, their interpolation weights drawn from the generator passed in)")
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        raise CheckFailed(f"{name}: the value is right but it cannot train the critic: it is detached from D's parameters. "
                          "Look at how the gradient with respect to the interpolates is computed: it must itself be "
                          "differentiable.")
    out.backward()
    # d/da mean((a |x_hat| - 1)^2) = mean(2 (a |x_hat| - 1) |x_hat|)
    e = eps.double().reshape(-1, 1, 1, 1)
    r = (e * real.double() + (1 - e) * fake.double()).flatten(1).norm(dim=1)
    expected_grad = float((2 * (a * r - 1) * r).mean())
    if D.a.grad is None:
        raise CheckFailed(f"{name}: the critic's parameter received no gradient from the penalty: keep the gradient "
                          "in the graph when you compute it")
    diagnose(name, D.a.grad.item(), expected_grad, [], "(the derivative of the penalty with respect to the critic's weight)")
    # a linear critic: (|w| - 1)^2 whatever the interpolation weights
    lin = nn.Linear(4, 1)
    with torch.no_grad():
        lin.weight.copy_(tensor([[0.6, -1.2, 0.4, 2.0]])), lin.bias.fill_(-0.3)
    D2 = lambda x: lin(x.flatten(1)).squeeze(1)  # noqa: E731
    w_norm = math.sqrt(0.36 + 1.44 + 0.16 + 4.0)
    got = floats(fn(D2, real, fake, torch.Generator().manual_seed(1)), name)
    diagnose(name, got, (w_norm - 1) ** 2, [], "(a linear critic w.x + b: its penalty is (|w| - 1)^2 for any points)")
    print("✓ gradient_penalty: per-sample interpolates and norms, target 1, differentiable, (|w| - 1)^2 for a linear critic")


def check_power_iteration(fn: Callable) -> None:
    """Check ``fn(W, u) -> (sigma, u_new, v_new)``: one step v = W^T u / |W^T u|, u_new = W v / |W v|, sigma = u_new^T W v."""
    name = "power_iteration_step"
    W = torch.tensor([[2.0, 0.0, 1.0], [0.0, 1.0, -1.0]], dtype=torch.float64)  # (out 2, in 3)
    u = torch.tensor([0.6, 0.8], dtype=torch.float64)
    v = W.T @ u
    v = v / v.norm()
    u_new = W @ v
    u_new = u_new / u_new.norm()
    sigma = float(u_new @ W @ v)
    try:
        out = fn(W, u)
    except RuntimeError as e:
        if "shape" in str(e) or "size" in str(e):
            raise CheckFailed(f"{name}: a shape error ({str(e).splitlines()[0]}): W is (out, in) and u has one entry per "
                              "output; which of W and its transpose maps u to the input side?") from None
        raise
    got = floats(out, name, [(), (2,), (3,)], ["sigma, a number", "u_new, one entry per row of W", "v_new, one entry per column of W"])
    v_raw = W.T @ u
    u_raw = W @ (v_raw / v_raw.norm())
    diagnose(name, got[0], sigma, [
        (float(u @ W @ v), "sigma uses the old u: estimate sigma with the vectors of this step"),
        (float(u_raw @ W @ v), "u was not normalised: both vectors must have length 1"),
        (float(torch.linalg.matrix_norm(W)), "that is the Frobenius norm; the spectral norm is the largest singular value"),
    ], "(sigma)")
    diagnose(name, got[1], u_new.tolist(), [(u_raw.tolist(), "u_new was not normalised to length 1")], "(u_new)")
    diagnose(name, got[2], v.tolist(), [(v_raw.tolist(), "v was not normalised to length 1")], "(v_new)")
    print("✓ power_iteration_step: one step of the power method, both vectors unit length, sigma from the new vectors")
