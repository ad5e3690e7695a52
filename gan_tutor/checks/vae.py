"""Checks of notebook 05 (VAE): the KL term against the standard normal, the reparameterisation trick, and the
negative ELBO."""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch

from .core import BATCH_MEAN, CheckFailed, bce, close, diagnose, floats, mean, numbers, sigmoid, tensor

__all__ = ["check_kl_std_normal", "check_reparameterize", "check_negative_elbo"]

ONE_PER_ROW = "one number per row: sum over the latent dimensions only (dim=-1), not over the batch"


def _kl_row(mu: Sequence[float], logvar: Sequence[float]) -> float:
    # KL(N(mu, e^lv) || N(0, 1)) summed over dimensions: 1/2 sum(mu^2 + e^lv - 1 - lv)
    return 0.5 * sum(m * m + math.exp(lv) - 1.0 - lv for m, lv in zip(mu, logvar))


def check_kl_std_normal(fn: Callable) -> None:
    """Check ``fn(mu, logvar)`` -> (N,): KL(N(mu, diag exp(logvar)) || N(0, I)) per row."""
    name = "kl_std_normal"
    mu, logvar = [[0.5, -1.0, 2.0], [0.0, 0.3, -0.4]], [[0.2, -1.5, 0.7], [1.0, 0.25, -0.6]]
    got = floats(fn(tensor(mu), tensor(logvar)), name, (2,), ONE_PER_ROW)
    expected = [_kl_row(m, lv) for m, lv in zip(mu, logvar)]
    diagnose(name, got, expected, [
        ([2 * e for e in expected], "the factor 1/2 is missing"),
        ([-e for e in expected], "sign error: KL = 1/2 sum(mu^2 + sigma^2 - 1 - log sigma^2) is never negative"),
        ([e / 3 for e in expected], "averaged over the latent dimensions; the KL of independent dimensions is their sum"),
        ([e + 1.5 for e in expected], "the -1 inside the sum is missing"),
        ([0.5 * sum(x * x + math.exp(2 * lv) - 1.0 - 2 * lv for x, lv in zip(m, lvs)) for m, lvs in zip(mu, logvar)],
         "treated logvar as log sigma: sigma^2 = exp(logvar), log sigma^2 = logvar"),
        ([0.5 * sum(x * x + lv - 1.0 - math.log(abs(lv)) for x, lv in zip(m, lvs)) for m, lvs in zip(mu, logvar)],
         "treated logvar as the variance itself: the variance is exp(logvar)"),
    ])
    zero = floats(fn(torch.zeros(1, 3), torch.zeros(1, 3)), name, (1,), ONE_PER_ROW)
    diagnose(name, zero, [0.0], where="for KL(N(0, I) || N(0, I))")
    print(f"✓ {name}: 1/2 sum(mu^2 + exp(logvar) - 1 - logvar) per row, 0 when q = p")


def check_reparameterize(fn: Callable) -> None:
    """Check ``fn(mu, logvar, eps)`` -> z = mu + exp(logvar / 2) * eps, differentiable in mu and logvar."""
    name = "reparameterize"
    mu = torch.tensor([[1.0, -2.0]], requires_grad=True)
    logvar = torch.tensor([[0.0, math.log(4.0)]], requires_grad=True)  # sigma = (1, 2)
    eps = torch.tensor([[0.5, 1.5]])
    z = fn(mu, logvar, eps)
    got = floats(z, name, (1, 2), "the shape of mu")
    diagnose(name, got, [1.5, 1.0], [  # mu + sigma * eps
        ([1.5, 4.0], "used the variance exp(logvar) as the scale; the standard deviation is exp(logvar / 2)"),
        ([1.5, -0.5], "forgot to scale the noise: z = mu + sigma * eps"),
        ([1.0, -2.0], "returned mu: the noise eps is missing"),
        ([0.5, 3.0], "mu is missing: z = mu + sigma * eps"),
    ], "(use the eps given, not new noise)",
        mistake_tol=(1e-5, 1e-6))
    if not z.requires_grad:
        raise CheckFailed(f"{name}: z carries no gradient to mu and logvar (sampling with torch.normal or .detach() blocks it); "
                          "write z = mu + std * eps, a differentiable function of mu and logvar")
    z.sum().backward()
    if mu.grad is None or logvar.grad is None:
        raise CheckFailed(f"{name}: the gradient does not reach {'mu' if mu.grad is None else 'logvar'}; build z from both")
    g_mu, g_lv = numbers(mu.grad), numbers(logvar.grad)
    if not (close(g_mu, [1.0, 1.0]) and close(g_lv, [0.25, 1.5])):
        raise CheckFailed(f"{name}: gradients dz/dmu {g_mu}, dz/dlogvar {g_lv}; expected [1, 1] and sigma * eps / 2 = [0.25, 1.5]")
    print(f"✓ {name}: z = mu + exp(logvar / 2) * eps; dz/dmu = 1, dz/dlogvar = sigma * eps / 2 (gradients flow)")


def check_negative_elbo(fn: Callable) -> None:
    """Check ``fn(logits, x, mu, logvar, beta)``: batch mean of (Bernoulli NLL summed over pixels + beta KL)."""
    name = "negative_elbo"
    logits = [[[[2.0, -1.0], [0.5, -3.0]]], [[[0.0, 1.5], [-0.5, 4.0]]]]  # (2, 1, 2, 2)
    x = [[[[1.0, 0.0], [1.0, 1.0]]], [[[0.0, 1.0], [0.0, 1.0]]]]
    mu, logvar = [[0.5, -1.0], [0.2, 0.0]], [[0.1, -0.7], [0.4, 0.3]]
    beta = 2.0
    a, y = [numbers(img) for img in logits], [numbers(img) for img in x]  # per image, flattened
    rec = [sum(bce(ai, yi) for ai, yi in zip(ar, yr)) for ar, yr in zip(a, y)]  # per image, summed over pixels
    kl = [_kl_row(m, lv) for m, lv in zip(mu, logvar)]
    got = floats(fn(tensor(logits), tensor(x), tensor(mu), tensor(logvar), beta), name, hint=BATCH_MEAN)
    twice = [sum(bce(sigmoid(ai), yi) for ai, yi in zip(ar, yr)) for ar, yr in zip(a, y)]  # a sigmoid before a loss on logits
    swapped = [sum(bce(yi, ai) for ai, yi in zip(ar, yr)) for ar, yr in zip(a, y)]
    diagnose(name, got, mean([r + beta * k for r, k in zip(rec, kl)]), [
        (mean([r / 4 + beta * k for r, k in zip(rec, kl)]),
         "the reconstruction term is averaged over pixels (a default reduction='mean'?): -log p(x | z) sums the pixels' "
         "terms (reduction='none', then .sum over pixels); averaging shrinks it by the number of pixels and lets the KL term dominate"),
        (sum(r + beta * k for r, k in zip(rec, kl)), "summed over the batch; average over images (nats per image)"),
        (mean([r + k for r, k in zip(rec, kl)]), "beta is ignored: it multiplies the KL term"),
        (mean([beta * r + k for r, k in zip(rec, kl)]), "beta multiplies the reconstruction term; it belongs to the KL term"),
        (mean([r - beta * k for r, k in zip(rec, kl)]), "sign error on the KL: the negative ELBO adds it"),
        (mean(rec), "the KL term is missing"),
        (mean([beta * k for k in kl]), "the reconstruction term is missing"),
        (mean([t + beta * k for t, k in zip(twice, kl)]), "a sigmoid applied before binary_cross_entropy_with_logits: pass raw logits"),
        (mean([s + beta * k for s, k in zip(swapped, kl)]), "logits and images swapped: binary_cross_entropy_with_logits(logits, x)"),
    ])
    print(f"✓ {name}: mean over images of (Bernoulli NLL summed over pixels + beta KL)")
