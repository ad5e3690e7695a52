"""Checks of notebook 01 (GAN maths): the optimal discriminator, the Jensen-Shannon divergence, the
discriminator's loss and the non-saturating generator loss, on logits."""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch

from .core import (BATCH_MEAN, BIG_FAKE, BIG_REAL, FAKE_LOGITS, REAL_LOGITS, CheckFailed, close, diagnose, floats,
                   logistic_d_loss, mean_bce, numbers, sigmoid, tensor, verify_large_logits)

__all__ = ["check_optimal_discriminator", "check_js_divergence", "check_d_loss", "check_g_loss_nonsaturating"]

LN2 = math.log(2.0)


# ----------------------------------------------------------------------------------------------------
# The optimal discriminator and the Jensen-Shannon divergence
# ----------------------------------------------------------------------------------------------------


def check_optimal_discriminator(fn: Callable) -> None:
    """Check ``fn(p_data, p_g)``, the optimal discriminator D* = p_data / (p_data + p_g), elementwise."""
    name = "optimal_discriminator"
    p_data = [0.2, 0.5, 1.0, 0.0, 0.3, 0.0, 0.05]
    p_g = [0.6, 0.5, 0.0, 0.4, 0.1, 0.0, 0.15]
    undefined = 5  # p_data = p_g = 0: D* is 0/0, the course's convention is 0.5
    defined = [i for i in range(len(p_data)) if i != undefined]

    out = torch.as_tensor(fn(tensor(p_data, torch.float64), tensor(p_g, torch.float64)))
    if out.shape != (len(p_data),):
        raise CheckFailed(
            f"{name} returned shape {tuple(out.shape)} for inputs of shape ({len(p_data)},): D* is elementwise, "
            "one value per point"
        )
    got_all = floats(out, name, (len(p_data),))
    got = [got_all[i] for i in defined]

    def at_defined(candidate: Callable[[float, float], float]) -> list[float]:
        return [candidate(p_data[i], p_g[i]) for i in defined]

    expected = at_defined(lambda pd, pg: pd / (pd + pg))
    diagnose(
        name,
        got,
        expected,
        [
            (at_defined(lambda pd, pg: pg / (pd + pg)), "swapped p_data and p_g: returned p_g / (p_data + p_g); D* is "
             "the probability that x is real, p_data / (p_data + p_g)"),
            (at_defined(lambda pd, pg: pd), "missing normalisation: returned p_data itself; divide by p_data + p_g"),
            (at_defined(lambda pd, pg: pd / pg if pg > 0 else math.inf), "missing normalisation: returned the density "
             "ratio p_data / p_g (unbounded); divide by p_data + p_g instead"),
        ],
        what=lambda k: f"at p_data = {p_data[defined[k]]}, p_g = {p_g[defined[k]]} expected D* = {expected[k]:.6g}, "
                       f"got {got[k]:.6g}",
        tol=(1e-6, 1e-9),
        mistake_tol=(1e-6, 1e-9),
    )
    if math.isnan(got_all[undefined]):
        raise CheckFailed(
            f"{name}: NaN where p_data = p_g = 0 (0/0): return 0.5 there, e.g. "
            "torch.where(total > 0, p_data / total, torch.full_like(total, 0.5)) with total = p_data + p_g"
        )
    if got_all[undefined] != 0.5:
        raise CheckFailed(
            f"{name}: where p_data = p_g = 0, D* is 0/0 and the course's convention is 0.5 (no sample ever lands "
            f"there, so D cannot tell); got {got_all[undefined]:.6g}"
        )
    print(
        f"✓ {name}: D* = p_data / (p_data + p_g) at {len(p_data)} points, including p_g = 0 (D* = 1), "
        "p_data = 0 (D* = 0) and p_data = p_g = 0 (D* = 0.5)"
    )


def _kl_sum(p: Sequence[float], q: Sequence[float], dx: float) -> float:
    # KL(P||Q) = sum p log(p/q) dx, 0 log 0 = 0, inf where p > 0 = q
    total = 0.0
    for pi, qi in zip(p, q):
        if pi > 0:
            if qi == 0:
                return math.inf
            total += pi * math.log(pi / qi)
    return total * dx


def _jsd_sum(p: Sequence[float], q: Sequence[float], dx: float) -> float:
    # JSD = 1/2 sum [p log(2p/(p+q)) + q log(2q/(p+q))] dx
    total = 0.0
    for pi, qi in zip(p, q):
        if pi > 0:
            total += pi * math.log(2 * pi / (pi + qi))
        if qi > 0:
            total += qi * math.log(2 * qi / (pi + qi))
    return 0.5 * total * dx


def _normal_pdf(x: float, mu: float, sigma: float) -> float:
    return math.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


def _jsd_mistakes(expected: float, dx: float) -> list[tuple[float, str]]:
    """The wrong JSDs of every test case: a wrong base, a lost 1/2, a lost dx."""
    return [
        (expected / LN2, "bits instead of nats: used log base 2; use the natural log (torch.log)"),
        (2 * expected, "twice the JSD: missing the 1/2 in JSD = 1/2 KL(P||M) + 1/2 KL(Q||M)"),
        (expected / dx, "not multiplied by dx: the integral is approximated by sum(f) * dx"),
    ]


def check_js_divergence(fn: Callable) -> None:
    """Check ``fn(p, q, dx)``: the Jensen-Shannon divergence in nats of densities on a uniform grid."""
    name = "js_divergence"
    kl_hint = (
        "this is a KL divergence, not JSD: JSD = 1/2 KL(P||M) + 1/2 KL(Q||M) compares each density with the "
        "mixture M = (P + Q)/2, so it is symmetric and at most log 2"
    )

    def call(p, q, dx, finite: str | None = None) -> float:
        return floats(fn(tensor(p, torch.float64), tensor(q, torch.float64), dx), name, finite=finite)

    # 1. Two Gaussians on [-10, 10], both positive everywhere on the grid (no zeros).
    dx = 0.02
    xs = [-10.0 + i * dx for i in range(1001)]
    p = [_normal_pdf(x, -1.0, 1.0) for x in xs]
    q = [_normal_pdf(x, 1.5, 0.7) for x in xs]
    expected = _jsd_sum(p, q, dx)
    got = call(p, q, dx, finite="for two Gaussians whose densities are positive everywhere")
    kl_pq, kl_qp = _kl_sum(p, q, dx), _kl_sum(q, p, dx)
    diagnose(
        name,
        got,
        expected,
        _jsd_mistakes(expected, dx) + [
            (expected * LN2, "multiplied by log 2: JSD in nats needs no conversion"),
            (kl_pq, kl_hint),
            (kl_qp, kl_hint),
            (0.5 * (kl_pq + kl_qp), kl_hint),
            (kl_pq + kl_qp, kl_hint),
        ],
        "for N(-1, 1) and N(1.5, 0.7^2)",
    )
    got_swapped = call(q, p, dx)
    if not close(got_swapped, got):
        raise CheckFailed(f"{name}: not symmetric (JSD(P||Q) = {got:.6g}, JSD(Q||P) = {got_swapped:.6g}): {kl_hint}")

    # 2. Uniforms with zeros: P = U[0, 1) and Q = U[0, 2) on cells of width dx. On [0, 1): p = 1, q = 1/2,
    #    m = 3/4; on [1, 2): p = 0, q = 1/2, m = 1/4. KL(P||M) = log(4/3), KL(Q||M) = 1/2 log(2/3) + 1/2 log 2,
    #    so JSD = 3/4 log(4/3), while KL(P||Q) = log 2.
    dx = 0.05
    cells = [(i + 0.5) * dx for i in range(60)]
    u01 = [1.0 if c < 1 else 0.0 for c in cells]
    u02 = [0.5 if c < 2 else 0.0 for c in cells]
    u23 = [1.0 if 2 <= c < 3 else 0.0 for c in cells]
    for p, q, expected, what in [
        (u01, u02, 0.75 * math.log(4 / 3), "for P = U[0, 1), Q = U[0, 2)"),
        (u01, u23, LN2, "for disjoint supports, P = U[0, 1), Q = U[2, 3)"),
    ]:
        got = call(p, q, dx)
        if math.isnan(got):
            raise CheckFailed(
                f"{name}: NaN {what}: 0 log 0 = 0 * (-inf) gives NaN where a density is 0; the term is 0 there "
                "(use torch.xlogy, or keep only the points where the density is positive)"
            )
        if math.isinf(got):
            raise CheckFailed(f"{name}: infinite {what}: {kl_hint}")
        diagnose(name, got, expected, _jsd_mistakes(expected, dx) + [(_kl_sum(p, q, dx), kl_hint)], what)
    diagnose(name, call(u02, u02, dx), 0.0, where="for the JSD of a distribution with itself", tol=(0.0, 1e-9))
    print(
        f"✓ {name}: two Gaussians (symmetric), U[0,1) vs U[0,2) = 3/4 log(4/3), disjoint supports = log 2, "
        "identical = 0, in nats with dx"
    )


# ----------------------------------------------------------------------------------------------------
# The discriminator's and the generator's losses on logits
# ----------------------------------------------------------------------------------------------------


def check_d_loss(fn: Callable) -> None:
    """Check ``fn(real_logits, fake_logits)``: -[mean log D(x) + mean log(1 - D(G(z)))] on logits."""
    name = "d_loss"
    r, f = REAL_LOGITS, FAKE_LOGITS
    n = len(r)
    real_term = mean_bce(r, 1.0)  # -mean log D(x)
    fake_term = mean_bce(f, 0.0)  # -mean log(1 - D(G(z)))
    expected = real_term + fake_term
    got = floats(fn(tensor(r), tensor(f)), name, hint=BATCH_MEAN)
    diagnose(
        name,
        got,
        expected,
        [
            (-expected, "sign error: returned V = mean log D(x) + mean log(1 - D(G(z))); the discriminator "
             "maximises V, so its loss is -V"),
            (n * expected, "sum instead of mean: average each term over the batch"),
            (logistic_d_loss(r, f, 0.0, 1.0),
             "swapped real and fake: real logits take target 1 (-log D(x)), fakes target 0 (-log(1 - D(G(z))))"),
            (expected / 2, "averaged the real and fake terms together (half the loss): it is mean over the real "
             "batch plus mean over the fake batch"),
            (logistic_d_loss(r, f, 1.0, 1.0),
             "labelled the fakes as real: the fake term is -log(1 - D(G(z))), target 0"),
            (real_term, "left out the fake term -mean log(1 - D(G(z)))"),
            (fake_term, "left out the real term -mean log D(x)"),
        ],
    )
    verify_large_logits(name, fn(tensor(BIG_REAL), tensor(BIG_FAKE)), logistic_d_loss(BIG_REAL, BIG_FAKE))
    print(f"✓ {name}: -[mean log D(x) + mean log(1 - D(G(z)))] at {n}+{n} logits, and finite at logits of ±200")


def check_g_loss_nonsaturating(fn: Callable) -> None:
    """Check ``fn(fake_logits)``: the non-saturating generator loss -mean log D(G(z)), on logits."""
    name = "g_loss_nonsaturating"
    f = FAKE_LOGITS
    n = len(f)
    expected = mean_bce(f, 1.0)  # -mean log sigmoid(a)
    saturating_msg = (
        "this is the saturating (minimax) loss log(1 - D(G(z))): its gradient vanishes when D(G(z)) -> 0, "
        "early in training; minimise -log D(G(z)) instead"
    )
    got = floats(fn(tensor(f)), name, hint=BATCH_MEAN)
    diagnose(
        name,
        got,
        expected,
        [
            (-mean_bce(f, 0.0), saturating_msg),
            (-expected, "sign error: returned mean log D(G(z)); the generator minimises -log D(G(z))"),
            (mean_bce(f, 0.0), "used the fake target 0, -log(1 - D(G(z))): that is the "
             "discriminator's term; the generator wants D to call its fakes real (target 1)"),
            (n * expected, "sum instead of mean: average over the batch"),
        ],
    )
    big = [-200.0, 200.0, 0.0]  # -log sigmoid(-200) = log(0) in float32 when computed naively
    verify_large_logits(name, fn(tensor(big)), mean_bce(big, 1.0))

    # The gradient at a = -10 (D(G(z)) ~ 4.5e-5, confidently rejected fakes) must be strong.
    k, a = 4, -10.0
    logits = torch.full((k,), a, requires_grad=True)
    loss = fn(logits)
    if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
        raise CheckFailed(
            f"{name}: the loss is not connected to the logits (no gradient): build it from torch operations on "
            "fake_logits, without .item(), .detach() or Python floats"
        )
    (grad,) = torch.autograd.grad(loss.sum(), logits)
    expected_grad = -(1.0 - sigmoid(a)) / k
    diagnose(
        name,
        numbers(grad),
        [expected_grad] * k,
        [([-sigmoid(a) / k] * k, f"gradient at a = -10 (D(G(z)) ~ 4.5e-5): {saturating_msg}")],
        "for the gradient w.r.t. each logit at a = -10",
        tol=(1e-4, 1e-6),
        mistake_tol=(1e-2, 1e-7),
    )
    print(
        f"✓ {name}: -mean log D(G(z)) at {n} logits, finite at ±200, gradient -(1 - sigmoid(a))/N = "
        f"{expected_grad:.4f} at a = -10 (strong where the saturating loss gives {-sigmoid(a) / k:.1e})"
    )
