r"""Checks for the notebook exercises: run the learner's function, compare, name the likely mistake.

Each ``check_<name>(fn)`` calls the learner's ``fn`` on inputs it makes itself (fixed values, no global
random state touched), compares the result with values worked out here from explicit formulas in
float64 Python arithmetic (``math.log1p``, ``math.exp``), never with the package's own solution, and

* on success prints one line starting with "✓";
* on failure raises :class:`CheckFailed` whose message names the likely mistake, found by computing what
  the common wrong answers would give and saying which one the learner's output matches;
* lets a ``NotImplementedError`` from ``fn`` (an unsolved exercise stub) propagate unchanged.

Notebook 01 (GAN maths): :func:`check_optimal_discriminator`, :func:`check_js_divergence`,
:func:`check_d_loss`, :func:`check_g_loss_nonsaturating`.
Notebook 02 (vanilla GAN training step): :func:`check_d_step`, :func:`check_g_step`,
:func:`check_d_loss_smoothed`.
Notebook 03 (DCGAN): :func:`check_transposed_conv_size`, :func:`check_ema_update`, :func:`check_slerp`.
Notebook 04 (conditional GAN): :func:`check_one_hot_maps`, :func:`check_projection_logits`, :func:`check_acgan_d_loss`.
Notebook 05 (VAE): :func:`check_kl_std_normal`, :func:`check_reparameterize`, :func:`check_negative_elbo`.
Notebook 06 (StyleGAN): :func:`check_adain`, :func:`check_modulated_weights`, :func:`check_truncate`.
Notebook 07 (evaluation): :func:`check_mean_and_covariance`, :func:`check_frechet_from_stats`, :func:`check_mmd2_estimate`.

Logit conventions as in ``gan_tutor.gan_math``: :math:`D(x) = \sigma(a)`, so
:math:`-\log D = \mathrm{softplus}(-a)` and :math:`-\log(1 - D) = \mathrm{softplus}(a)`.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import nn

__all__ = [
    "CheckFailed",
    "check_optimal_discriminator",
    "check_js_divergence",
    "check_d_loss",
    "check_g_loss_nonsaturating",
    "check_d_step",
    "check_g_step",
    "check_d_loss_smoothed",
    "check_transposed_conv_size",
    "check_ema_update",
    "check_slerp",
    "check_one_hot_maps",
    "check_projection_logits",
    "check_acgan_d_loss",
    "check_kl_std_normal",
    "check_reparameterize",
    "check_negative_elbo",
    "check_adain",
    "check_modulated_weights",
    "check_truncate",
    "check_mean_and_covariance",
    "check_frechet_from_stats",
    "check_mmd2_estimate",
]


class CheckFailed(AssertionError):
    """An exercise check failed; the message names the likely mistake."""


# ----------------------------------------------------------------------------------------------------
# Scalar arithmetic in float64 (the expected values), and comparison helpers
# ----------------------------------------------------------------------------------------------------

LN2 = math.log(2.0)


def _softplus(a: float) -> float:
    # softplus(a) = log(1 + e^a) = max(a, 0) + log1p(e^-|a|): no overflow for any a
    return max(a, 0.0) + math.log1p(math.exp(-abs(a)))


def _sigmoid(a: float) -> float:
    if a >= 0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


def _bce(a: float, y: float) -> float:
    # BCE(a, y) = -[y log sigmoid(a) + (1 - y) log(1 - sigmoid(a))] = y softplus(-a) + (1 - y) softplus(a)
    return y * _softplus(-a) + (1.0 - y) * _softplus(a)


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs)


def _close(got: float, expected: float, rel: float = 1e-5, abs_tol: float = 1e-6) -> bool:
    if math.isinf(expected):
        return got == expected
    return math.isfinite(got) and math.isclose(got, expected, rel_tol=rel, abs_tol=abs_tol)


def _scalar(value, name: str) -> float:
    """The learner's result as a float; a tensor must hold exactly one number."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise CheckFailed(
                f"{name} returned a tensor of shape {tuple(value.shape)}; it should return one number: "
                "average over the batch with .mean()"
            )
        return float(value.detach().reshape(()).double())
    try:
        return float(value)
    except (TypeError, ValueError):
        raise CheckFailed(f"{name} returned {type(value).__name__}; it should return a number (a 0-dim tensor)") from None


def _diagnose(name: str, got: float, expected: float, wrong: Sequence[tuple[float, str]], context: str = "") -> None:
    """Raise CheckFailed unless got == expected; name the first wrong answer that got matches."""
    if _close(got, expected):
        return
    where = f" {context}" if context else ""
    for value, mistake in wrong:
        if _close(got, value, rel=1e-4, abs_tol=1e-5):
            raise CheckFailed(f"{name}: {mistake} (expected {expected:.6g}{where}, got {got:.6g})")
    raise CheckFailed(f"{name}: expected {expected:.6g}{where}, got {got:.6g}")


def _tensor(values, dtype=torch.float32) -> torch.Tensor:
    return torch.tensor(values, dtype=dtype)


# ----------------------------------------------------------------------------------------------------
# Notebook 01: optimal discriminator and Jensen-Shannon divergence
# ----------------------------------------------------------------------------------------------------


def check_optimal_discriminator(fn: Callable) -> None:
    """Check ``fn(p_data, p_g)``, the optimal discriminator D* = p_data / (p_data + p_g), elementwise."""
    name = "optimal_discriminator"
    p_data = [0.2, 0.5, 1.0, 0.0, 0.3, 0.0, 0.05]
    p_g = [0.6, 0.5, 0.0, 0.4, 0.1, 0.0, 0.15]
    undefined = 5  # p_data = p_g = 0: D* is 0/0, the course's convention is 0.5
    expected = [pd / (pd + pg) if pd + pg > 0 else 0.5 for pd, pg in zip(p_data, p_g)]

    out = fn(_tensor(p_data, torch.float64), _tensor(p_g, torch.float64))
    got = torch.as_tensor(out).detach().to(torch.float64)
    if got.shape != (len(p_data),):
        raise CheckFailed(
            f"{name} returned shape {tuple(got.shape)} for inputs of shape ({len(p_data)},): D* is elementwise, "
            "one value per point"
        )
    got = got.tolist()
    defined = [i for i in range(len(p_data)) if i != undefined]

    def matches(candidate: Callable[[float, float], float], idx=defined) -> bool:
        return all(_close(got[i], candidate(p_data[i], p_g[i]), rel=1e-6, abs_tol=1e-9) for i in idx)

    if not matches(lambda pd, pg: pd / (pd + pg)):
        if matches(lambda pd, pg: pg / (pd + pg)):
            raise CheckFailed(
                f"{name}: swapped p_data and p_g: returned p_g / (p_data + p_g); D* is the probability that x "
                "is real, p_data / (p_data + p_g)"
            )
        if matches(lambda pd, pg: pd):
            raise CheckFailed(f"{name}: missing normalisation: returned p_data itself; divide by p_data + p_g")
        if matches(lambda pd, pg: pd / pg, [i for i in defined if p_g[i] > 0]):
            raise CheckFailed(
                f"{name}: missing normalisation: returned the density ratio p_data / p_g (unbounded); "
                "divide by p_data + p_g instead"
            )
        i = next(i for i in defined if not _close(got[i], expected[i], rel=1e-6, abs_tol=1e-9))
        raise CheckFailed(
            f"{name}: at p_data = {p_data[i]}, p_g = {p_g[i]} expected D* = {expected[i]:.6g}, got {got[i]:.6g}"
        )
    if math.isnan(got[undefined]):
        raise CheckFailed(
            f"{name}: NaN where p_data = p_g = 0 (0/0): return 0.5 there, e.g. "
            "torch.where(total > 0, p_data / total, torch.full_like(total, 0.5)) with total = p_data + p_g"
        )
    if got[undefined] != 0.5:
        raise CheckFailed(
            f"{name}: where p_data = p_g = 0, D* is 0/0 and the course's convention is 0.5 (no sample ever lands "
            f"there, so D cannot tell); got {got[undefined]:.6g}"
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


def check_js_divergence(fn: Callable) -> None:
    """Check ``fn(p, q, dx)``: the Jensen-Shannon divergence in nats of densities on a uniform grid."""
    name = "js_divergence"
    kl_hint = (
        "this is a KL divergence, not JSD: JSD = 1/2 KL(P||M) + 1/2 KL(Q||M) compares each density with the "
        "mixture M = (P + Q)/2, so it is symmetric and at most log 2"
    )

    def call(p, q, dx) -> float:
        return _scalar(fn(_tensor(p, torch.float64), _tensor(q, torch.float64), dx), name)

    # 1. Two Gaussians on [-10, 10], both positive everywhere on the grid (no zeros).
    dx = 0.02
    xs = [-10.0 + i * dx for i in range(1001)]
    p = [_normal_pdf(x, -1.0, 1.0) for x in xs]
    q = [_normal_pdf(x, 1.5, 0.7) for x in xs]
    expected = _jsd_sum(p, q, dx)
    got = call(p, q, dx)
    if math.isnan(got) or math.isinf(got):
        raise CheckFailed(f"{name}: returned {got} for two Gaussians whose densities are positive everywhere")
    kl_pq, kl_qp = _kl_sum(p, q, dx), _kl_sum(q, p, dx)
    _diagnose(
        name,
        got,
        expected,
        [
            (expected / LN2, "bits instead of nats: used log base 2; use the natural log (torch.log)"),
            (2 * expected, "twice the JSD: missing the 1/2 in JSD = 1/2 KL(P||M) + 1/2 KL(Q||M)"),
            (expected / dx, "not multiplied by dx: the integral is approximated by sum(f) * dx"),
            (expected * LN2, "multiplied by log 2: JSD in nats needs no conversion"),
            (kl_pq, kl_hint),
            (kl_qp, kl_hint),
            (0.5 * (kl_pq + kl_qp), kl_hint),
            (kl_pq + kl_qp, kl_hint),
        ],
        "for N(-1, 1) and N(1.5, 0.7^2)",
    )
    got_swapped = call(q, p, dx)
    if not _close(got_swapped, got):
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
        _diagnose(
            name,
            got,
            expected,
            [
                (expected / LN2, "bits instead of nats: used log base 2; use the natural log (torch.log)"),
                (2 * expected, "twice the JSD: missing the 1/2 in JSD = 1/2 KL(P||M) + 1/2 KL(Q||M)"),
                (expected / dx, "not multiplied by dx: the integral is approximated by sum(f) * dx"),
                (_kl_sum(p, q, dx), kl_hint),
            ],
            what,
        )
    got = call(u02, u02, dx)
    if not _close(got, 0.0, abs_tol=1e-9):
        raise CheckFailed(f"{name}: JSD of a distribution with itself must be 0, got {got:.6g}")
    print(
        f"✓ {name}: two Gaussians (symmetric), U[0,1) vs U[0,2) = 3/4 log(4/3), disjoint supports = log 2, "
        "identical = 0, in nats with dx"
    )


# ----------------------------------------------------------------------------------------------------
# Notebook 01: discriminator and generator losses on logits
# ----------------------------------------------------------------------------------------------------

REAL_LOGITS = [1.5, -0.8, 0.3, 2.2, -2.0]
FAKE_LOGITS = [-1.2, 0.5, -3.0, 0.9, 0.1]
# float32 logits, as networks produce: log(sigmoid(-200)) is log(0) = -inf in float32
BIG_REAL = [-200.0, 60.0]
BIG_FAKE = [200.0, -60.0]
LARGE_LOGIT_HINT = "use softplus / BCE-with-logits: -log sigmoid(a) = softplus(-a), -log(1 - sigmoid(a)) = softplus(a)"


def _large_logit_failure(name: str, got: float, expected: float) -> None:
    if not math.isfinite(got):
        raise CheckFailed(
            f"{name}: non-finite ({got}) at large logits: computed log(sigmoid(.)) directly, which is log(0) "
            f"once |a| > ~100 in float32; {LARGE_LOGIT_HINT}"
        )
    if not _close(got, expected):
        raise CheckFailed(
            f"{name}: wrong at large logits (expected {expected:.6g}, got {got:.6g}): log(sigmoid(a) + eps), "
            f"clamping, or BCELoss on probabilities (it clamps log at -100) caps the loss; {LARGE_LOGIT_HINT}"
        )


def check_d_loss(fn: Callable) -> None:
    """Check ``fn(real_logits, fake_logits)``: -[mean log D(x) + mean log(1 - D(G(z)))] on logits."""
    name = "d_loss"
    r, f = REAL_LOGITS, FAKE_LOGITS
    n = len(r)
    real_term = _mean([_softplus(-a) for a in r])  # -mean log D(x)
    fake_term = _mean([_softplus(a) for a in f])  # -mean log(1 - D(G(z)))
    expected = real_term + fake_term
    got = _scalar(fn(_tensor(r), _tensor(f)), name)
    _diagnose(
        name,
        got,
        expected,
        [
            (-expected, "sign error: returned V = mean log D(x) + mean log(1 - D(G(z))); the discriminator "
             "maximises V, so its loss is -V"),
            (n * expected, "sum instead of mean: average each term over the batch"),
            (_mean([_softplus(a) for a in r]) + _mean([_softplus(-a) for a in f]),
             "swapped real and fake: real logits take target 1 (-log D(x)), fakes target 0 (-log(1 - D(G(z))))"),
            (expected / 2, "averaged the real and fake terms together (half the loss): it is mean over the real "
             "batch plus mean over the fake batch"),
            (real_term + _mean([_softplus(-a) for a in f]),
             "labelled the fakes as real: the fake term is -log(1 - D(G(z))), target 0"),
            (real_term, "left out the fake term -mean log(1 - D(G(z)))"),
            (fake_term, "left out the real term -mean log D(x)"),
        ],
    )
    big_expected = _mean([_softplus(-a) for a in BIG_REAL]) + _mean([_softplus(a) for a in BIG_FAKE])
    _large_logit_failure(name, _scalar(fn(_tensor(BIG_REAL), _tensor(BIG_FAKE)), name), big_expected)
    print(f"✓ {name}: -[mean log D(x) + mean log(1 - D(G(z)))] at {n}+{n} logits, and finite at logits of ±200")


def check_g_loss_nonsaturating(fn: Callable) -> None:
    """Check ``fn(fake_logits)``: the non-saturating generator loss -mean log D(G(z)), on logits."""
    name = "g_loss_nonsaturating"
    f = FAKE_LOGITS
    n = len(f)
    expected = _mean([_softplus(-a) for a in f])  # -mean log sigmoid(a)
    saturating_msg = (
        "this is the saturating (minimax) loss log(1 - D(G(z))): its gradient vanishes when D(G(z)) -> 0, "
        "early in training; minimise -log D(G(z)) instead"
    )
    got = _scalar(fn(_tensor(f)), name)
    _diagnose(
        name,
        got,
        expected,
        [
            (-_mean([_softplus(a) for a in f]), saturating_msg),
            (-expected, "sign error: returned mean log D(G(z)); the generator minimises -log D(G(z))"),
            (_mean([_softplus(a) for a in f]), "used the fake target 0, -log(1 - D(G(z))): that is the "
             "discriminator's term; the generator wants D to call its fakes real (target 1)"),
            (n * expected, "sum instead of mean: average over the batch"),
        ],
    )
    big = [-200.0, 200.0, 0.0]  # -log sigmoid(-200) = log(0) in float32 when computed naively
    _large_logit_failure(name, _scalar(fn(_tensor(big)), name), _mean([_softplus(-a) for a in big]))

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
    expected_grad = -(1.0 - _sigmoid(a)) / k
    got_grad = grad.double().tolist()
    if not all(_close(g, expected_grad, rel=1e-4) for g in got_grad):
        if all(_close(g, -_sigmoid(a) / k, rel=1e-2, abs_tol=1e-7) for g in got_grad):
            raise CheckFailed(f"{name}: gradient {got_grad[0]:.3g} per logit at a = -10: {saturating_msg}")
        raise CheckFailed(
            f"{name}: gradient w.r.t. each logit at a = -10 should be -(1 - sigmoid(a))/N = {expected_grad:.6g}, "
            f"got {got_grad}"
        )
    print(
        f"✓ {name}: -mean log D(G(z)) at {n} logits, finite at ±200, gradient -(1 - sigmoid(a))/N = "
        f"{expected_grad:.4f} at a = -10 (strong where the saturating loss gives {-_sigmoid(a) / k:.1e})"
    )


# ----------------------------------------------------------------------------------------------------
# Notebook 02: one discriminator step and one generator step, on linear stand-in networks
# ----------------------------------------------------------------------------------------------------
#
# G(z) = A z + c (nn.Linear(2, 2)) and D(x) = w . x + b (nn.Linear(2, 1)), so every gradient has a closed
# form. For a loss L = mean_i l(a_i) over logits a_i = w . x_i + b:
#   dL/dw = mean_i l'(a_i) x_i,  dL/db = mean_i l'(a_i);
# through G, with x_j = A z_j + c:  dL/dA = mean_j l'(a_j) w z_j^T,  dL/dc = mean_j l'(a_j) w.

G_WEIGHT = [[0.8, -0.3], [0.2, 1.1]]  # A
G_BIAS = [0.5, -0.4]  # c
D_WEIGHT = [[1.2, -0.7]]  # w
D_BIAS = [0.3]  # b
REAL = [[1.0, 2.0], [-0.5, 0.3], [2.0, -1.0], [0.1, 0.4]]  # (N, 2) "images"
Z = [[0.3, -1.2], [1.5, 0.2], [-0.7, 0.8], [0.0, -0.5]]  # (N, 2) noise
LR = 0.1


def _stand_ins() -> tuple[nn.Linear, nn.Linear]:
    # skip_init: no random initialisation, so the learner's global RNG state is left untouched
    G = nn.utils.skip_init(nn.Linear, 2, 2)
    D = nn.utils.skip_init(nn.Linear, 2, 1)
    with torch.no_grad():
        G.weight.copy_(_tensor(G_WEIGHT))
        G.bias.copy_(_tensor(G_BIAS))
        D.weight.copy_(_tensor(D_WEIGHT))
        D.bias.copy_(_tensor(D_BIAS))
    return G, D


def _g_of(z: Sequence[float]) -> list[float]:
    return [sum(G_WEIGHT[k][m] * z[m] for m in range(2)) + G_BIAS[k] for k in range(2)]


def _d_of(x: Sequence[float]) -> float:
    return sum(D_WEIGHT[0][m] * x[m] for m in range(2)) + D_BIAS[0]


def _params(module: nn.Module) -> list[list[float]]:
    return [p.detach().double().flatten().tolist() for p in module.parameters()]


def _params_close(got: list[list[float]], expected: list[list[float]], tol: float = 1e-5) -> bool:
    return all(abs(g - e) <= tol for gp, ep in zip(got, expected) for g, e in zip(gp, ep))


def _sgd(params: list[list[float]], grads: list[list[float]], scale: float = 1.0) -> list[list[float]]:
    return [[p - LR * scale * g for p, g in zip(pp, gg)] for pp, gg in zip(params, grads)]


def _fmt(params: list[list[float]]) -> str:
    return "[" + ", ".join("[" + ", ".join(f"{v:.6f}" for v in p) + "]" for p in params) + "]"


def _add(a: list[list[float]], b: list[list[float]]) -> list[list[float]]:
    return [[x + y for x, y in zip(u, v)] for u, v in zip(a, b)]


def _returned_loss(name: str, out, expected: float, step: str) -> None:
    if isinstance(out, torch.Tensor) and out.requires_grad:
        raise CheckFailed(
            f"{name}: returned the loss tensor with its graph; return loss.item(), a Python float, so the graph "
            "of the step is freed"
        )
    got = _scalar(out, name)
    if not _close(got, expected):
        raise CheckFailed(
            f"{name}: returned {got:.6g}; it should return the {step} loss computed before the update, "
            f"{expected:.6g} (loss.item())"
        )



def _diagnose_update(name: str, who: str, got, expected, wrong) -> None:
    """Name the mistake whose update ``got`` matches, from (params, mistake) pairs; else show the numbers."""
    for params, mistake in wrong:
        if _params_close(got, params):
            raise CheckFailed(f"{name}: {mistake}")
    raise CheckFailed(
        f"{name}: {who}'s parameters [weight, bias] after one SGD step (lr={LR}) should be {_fmt(expected)}, "
        f"got {_fmt(got)}"
    )

def check_d_step(fn: Callable) -> None:
    """Check ``fn(G, D, opt_D, real, z) -> float``: one SGD step of D on -[log D(x) + log(1 - D(G(z)))]."""
    name = "d_step"
    G, D = _stand_ins()
    opt_D = torch.optim.SGD(D.parameters(), lr=LR)
    # Junk in D's .grad, as a previous generator step leaves there: a missing zero_grad adds it to the update.
    junk = [[3.0, -2.0], [1.5]]
    D.weight.grad = _tensor([junk[0]])
    D.bias.grad = _tensor(junk[1])
    g_before, d_before = _params(G), _params(D)

    fake = [_g_of(z) for z in Z]
    r = [_d_of(x) for x in REAL]
    f = [_d_of(x) for x in fake]

    def grads(l_real: Callable[[float], float], l_fake: Callable[[float], float]) -> list[list[float]]:
        # l_real, l_fake: derivatives of the per-sample loss terms w.r.t. their logits
        gw = [_mean([l_real(a) * x[m] for a, x in zip(r, REAL)]) + _mean([l_fake(a) * x[m] for a, x in zip(f, fake)])
              for m in range(2)]
        gb = _mean([l_real(a) for a in r]) + _mean([l_fake(a) for a in f])
        return [gw, [gb]]

    # d/da softplus(-a) = -(1 - sigmoid(a)) (real, target 1);  d/da softplus(a) = sigmoid(a) (fake, target 0)
    correct = grads(lambda a: -(1 - _sigmoid(a)), _sigmoid)
    expected = _sgd(d_before, correct)
    loss_before = _mean([_softplus(-a) for a in r]) + _mean([_softplus(a) for a in f])

    out = fn(G, D, opt_D, _tensor(REAL), _tensor(Z))

    if not _params_close(_params(G), g_before, tol=0.0):
        raise CheckFailed(f"{name}: the generator's weights changed during the discriminator step: step only opt_D")
    for p in G.parameters():
        if p.grad is not None and p.grad.abs().sum() > 0:
            raise CheckFailed(
                f"{name}: the generator received gradients during the discriminator step: did you detach the fake "
                "images? (fake = G(z).detach())"
            )
    got = _params(D)
    if not _params_close(got, expected):
        zero = [[0.0, 0.0], [0.0]]
        wrong = [
            (_sgd(d_before, _add(correct, junk)), "the update includes stale gradients: call opt_D.zero_grad() "
             "before loss.backward() (gradients accumulate in .grad)"),
            (_sgd(d_before, zero), "D's weights did not change: call loss.backward() and then opt_D.step()"),
            (_sgd(d_before, correct, scale=-1.0), "sign error: the step increases the loss; the discriminator "
             "minimises -[log D(x) + log(1 - D(G(z)))]"),
            (_sgd(d_before, grads(_sigmoid, lambda a: -(1 - _sigmoid(a)))), "swapped labels: real images take "
             "target 1 and fakes target 0"),
            (_sgd(d_before, grads(lambda a: -(1 - _sigmoid(a)), lambda a: -(1 - _sigmoid(a)))),
             "labelled the fakes as real (the generator's -log D(G(z))): the fake term is -log(1 - D(G(z)))"),
            (_sgd(d_before, correct, scale=len(Z)), "sum instead of mean over the batch"),
            (_sgd(d_before, grads(lambda a: -(1 - _sigmoid(a)), lambda a: 0.0)), "left out the fake term"),
            (_sgd(d_before, grads(lambda a: 0.0, _sigmoid)), "left out the real term"),
        ]
        _diagnose_update(name, "D", got, expected, wrong)
    _returned_loss(name, out, loss_before, "discriminator")
    print(
        f"✓ {name}: D's SGD update equals the closed-form gradient of -[log D(x) + log(1 - D(G(z)))] "
        "for a linear D, stale gradients cleared, no gradient reached G, pre-step loss returned"
    )


def check_g_step(fn: Callable) -> None:
    """Check ``fn(G, D, opt_G, z) -> float``: one SGD step of G on the non-saturating -log D(G(z))."""
    name = "g_step"
    G, D = _stand_ins()
    opt_G = torch.optim.SGD(G.parameters(), lr=LR)
    junk = [[1.0, -2.0, 0.5, 2.5], [-1.5, 1.0]]  # stale .grad of G (flattened A, then c)
    G.weight.grad = _tensor(junk[0]).reshape(2, 2)
    G.bias.grad = _tensor(junk[1])
    g_before, d_before = _params(G), _params(D)

    fake = [_g_of(z) for z in Z]
    f = [_d_of(x) for x in fake]
    w = D_WEIGHT[0]

    def grads(l_fake: Callable[[float], float]) -> list[list[float]]:
        # dL/dA_km = mean_j l'(f_j) w_k z_jm;  dL/dc_k = mean_j l'(f_j) w_k
        gA = [_mean([l_fake(a) * w[k] * z[m] for a, z in zip(f, Z)]) for k in range(2) for m in range(2)]
        gc = [_mean([l_fake(a) * w[k] for a in f]) for k in range(2)]
        return [gA, gc]

    # non-saturating: d/da softplus(-a) = -(1 - sigmoid(a))
    correct = grads(lambda a: -(1 - _sigmoid(a)))
    expected = _sgd(g_before, correct)
    loss_before = _mean([_softplus(-a) for a in f])

    out = fn(G, D, opt_G, _tensor(Z))

    if not _params_close(_params(D), d_before, tol=0.0):
        raise CheckFailed(f"{name}: the discriminator's weights changed during the generator step: step only opt_G")
    got = _params(G)
    if not _params_close(got, expected):
        wrong = [
            (_sgd(g_before, grads(lambda a: -_sigmoid(a))), "this update follows the saturating loss "
             "log(1 - D(G(z))), whose gradient vanishes when D(G(z)) -> 0; minimise -log D(G(z))"),
            (_sgd(g_before, _add(correct, junk)), "the update includes stale gradients: call opt_G.zero_grad() "
             "before loss.backward()"),
            (g_before, "G's weights did not change: call loss.backward() and opt_G.step(), and do not detach G(z) "
             "in the generator step (the gradient must flow through D into G)"),
            (_sgd(g_before, correct, scale=-1.0), "sign error: the step increases -log D(G(z))"),
            (_sgd(g_before, grads(_sigmoid)), "used the fake target 0, -log(1 - D(G(z))): the generator wants D to "
             "call its fakes real (target 1)"),
            (_sgd(g_before, correct, scale=len(Z)), "sum instead of mean over the batch"),
        ]
        _diagnose_update(name, "G", got, expected, wrong)
    _returned_loss(name, out, loss_before, "generator")
    print(
        f"✓ {name}: G's SGD update equals the closed-form gradient of -log D(G(z)) through a linear D and G, "
        "stale gradients cleared, D unchanged, pre-step loss returned"
    )


def check_d_loss_smoothed(fn: Callable) -> None:
    """Check ``fn(real_logits, fake_logits, real_label=0.9)``: one-sided label smoothing (Salimans et al. 2016)."""
    name = "d_loss_smoothed"
    r, f = REAL_LOGITS, FAKE_LOGITS
    n = len(r)

    def loss(real_target: float, fake_target: float) -> float:
        return _mean([_bce(a, real_target) for a in r]) + _mean([_bce(a, fake_target) for a in f])

    for label, call in [
        (0.9, lambda: fn(_tensor(r), _tensor(f))),
        (0.7, lambda: fn(_tensor(r), _tensor(f), real_label=0.7)),
    ]:
        expected = loss(label, 0.0)
        got = _scalar(call(), name)
        wrong = [
            (loss(label, 1.0 - label), f"smoothed the fake labels too (two-sided): one-sided smoothing keeps the "
             f"fake target at 0 (here the fakes got {1 - label:.1f})"),
            (loss(1.0, 0.0), "ignored real_label: the real targets must be real_label, not 1"),
            (loss(1.0 - label, 0.0), "used 1 - real_label for real: the real target is real_label itself"),
            (-expected, "sign error: the loss is BCE, -[y log D + (1 - y) log(1 - D)]"),
            (n * expected, "sum instead of mean over the batch"),
            (_mean([_bce(a, 0.0) for a in r]) + _mean([_bce(a, label) for a in f]),
             "swapped real and fake: the smoothed target belongs to the real logits"),
        ]
        if label != 0.9:
            wrong.insert(0, (loss(0.9, 0.0), "ignored real_label: used 0.9 whatever real_label is passed"))
        _diagnose(name, got, expected, wrong, f"with real_label={label}")
    big_expected = _mean([_bce(a, 0.9) for a in BIG_REAL]) + _mean([_bce(a, 0.0) for a in BIG_FAKE])
    _large_logit_failure(name, _scalar(fn(_tensor(BIG_REAL), _tensor(BIG_FAKE)), name), big_expected)
    print(
        f"✓ {name}: mean BCE(real, real_label) + mean BCE(fake, 0) for real_label = 0.9 (default) and 0.7, "
        "finite at logits of ±200"
    )


# ----------------------------------------------------------------------------------------------------
# Notebook 03: transposed-convolution arithmetic, the generator's moving average, spherical interpolation
# ----------------------------------------------------------------------------------------------------


def check_transposed_conv_size(fn: Callable) -> None:
    """Check ``fn(n, kernel, stride, padding)``: the side of a transposed convolution's output."""
    name = "transposed_conv_size"
    for n, k, s, p in [(4, 5, 3, 2), (7, 4, 2, 1), (1, 7, 1, 0), (5, 3, 2, 0), (14, 4, 2, 1)]:
        expected = (n - 1) * s - 2 * p + k
        got = fn(n, k, s, p)
        if isinstance(got, torch.Tensor):
            got = got.item()
        if not isinstance(got, int) or isinstance(got, bool):
            raise CheckFailed(f"{name}({n}, {k}, {s}, {p}) returned {got!r}: a side length is a whole number "
                              "(use integer arithmetic, no division)")
        wrong = [
            (n * s - 2 * p + k, "used n * stride: n inputs span only n - 1 strides between the first and the last"),
            ((n - 1) * s - p + k, "subtracted the padding once: it is removed from both sides, so subtract 2 * padding"),
            ((n - 1) * s + 2 * p + k, "added the padding: in a transposed convolution padding crops the output"),
            ((n + 2 * p - k) // s + 1, "that is the convolution's formula; a transposed convolution maps the other way"),
            ((n - 1) * s + k, "ignored the padding"),
        ]
        _diagnose(name, float(got), float(expected), [(float(v), m) for v, m in wrong], f"for n={n}, kernel={k}, stride={s}, padding={p}")
    print(f"✓ {name}: (n - 1) * stride - 2 * padding + kernel on five layers, including DCGAN's 7 -> 14 -> 28")


def check_ema_update(fn: Callable) -> None:
    """Check ``fn(ema, model, decay)``: theta_ema <- decay theta_ema + (1 - decay) theta, buffers copied, in place."""
    name = "ema_update"

    def pair():
        model = nn.Sequential(nn.Linear(2, 1), nn.BatchNorm1d(1))
        ema = nn.Sequential(nn.Linear(2, 1), nn.BatchNorm1d(1))
        with torch.no_grad():
            model[0].weight.copy_(_tensor([[1.0, 2.0]])), model[0].bias.fill_(3.0)
            ema[0].weight.copy_(_tensor([[-1.0, 0.0]])), ema[0].bias.fill_(1.0)
            model[1].running_mean.fill_(0.5), ema[1].running_mean.fill_(-2.0)
        return ema, model

    ema, model = pair()
    weight_id = id(ema[0].weight)
    try:
        fn(ema, model, 0.9)
    except RuntimeError as e:
        if "in-place" in str(e) or "leaf" in str(e):
            raise CheckFailed(f"{name}: {e}. Update the average under torch.no_grad(): it is not trained by backprop") from None
        raise
    if id(ema[0].weight) != weight_id:
        raise CheckFailed(f"{name}: replaced the parameter objects; update them in place (p_ema.lerp_(p, 1 - decay) "
                          "or p_ema.mul_(decay).add_(...)) so that optimisers and references stay valid")
    w = ema[0].weight.detach().flatten().tolist() + [ema[0].bias.item()]
    old, new = [-1.0, 0.0, 1.0], [1.0, 2.0, 3.0]
    expected = [0.9 * a + 0.1 * b for a, b in zip(old, new)]
    if model[0].weight.detach().flatten().tolist() != [1.0, 2.0]:
        raise CheckFailed(f"{name}: the model's own weights changed; only the average (the first argument) moves")
    if not all(_close(g, e) for g, e in zip(w, expected)):
        for cand, mistake in [
            ([0.1 * a + 0.9 * b for a, b in zip(old, new)], "the weights are swapped: decay multiplies the old average, "
             "1 - decay the new weights"),
            (new, "copied the model's weights: the average moves only 1 - decay of the way"),
            (old, "the average did not change: write into its parameters in place"),
        ]:
            if all(_close(g, c) for g, c in zip(w, cand)):
                raise CheckFailed(f"{name}: {mistake} (expected {expected}, got {w})")
        raise CheckFailed(f"{name}: expected the parameters {expected} after one update with decay 0.9, got {w}")
    if ema[1].running_mean.item() != 0.5:
        raise CheckFailed(f"{name}: the batch-norm running statistics (buffers) were not copied: the average must normalise "
                          "with the model's current statistics (model.buffers())")
    ema, model = pair()
    fn(ema, model, 0.5)
    fn(ema, model, 0.5)  # two steps towards a fixed model: decay^2 of the old value remains
    got = ema[0].bias.item()
    if not _close(got, 0.25 * 1.0 + 0.75 * 3.0):
        raise CheckFailed(f"{name}: after two updates with decay 0.5 the bias should be 0.25 * 1 + 0.75 * 3 = 2.5, got {got:.6g}")
    print(f"✓ {name}: decay * average + (1 - decay) * weights, in place, buffers copied, model untouched")


def _slerp_expected(z0: list[float], z1: list[float], t: float) -> list[float]:
    dot = sum(a * b for a, b in zip(z0, z1))
    n0, n1 = math.sqrt(sum(a * a for a in z0)), math.sqrt(sum(b * b for b in z1))
    theta = math.acos(max(-1.0, min(1.0, dot / (n0 * n1))))
    return [(math.sin((1 - t) * theta) * a + math.sin(t * theta) * b) / math.sin(theta) for a, b in zip(z0, z1)]


def check_slerp(fn: Callable) -> None:
    """Check ``fn(z0, z1, t)``: spherical interpolation along the last dimension, per row for (N, d)."""
    name = "slerp"

    def call(z0, z1, t):
        out = fn(_tensor(z0), _tensor(z1), t)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != tuple(_tensor(z0).shape):
            raise CheckFailed(f"{name}: expected a tensor of shape {tuple(_tensor(z0).shape)} (the shape of z0), "
                              f"got {getattr(out, 'shape', type(out).__name__)}")
        return out.double()

    def same(got: torch.Tensor, expected) -> bool:
        return bool(torch.allclose(got, torch.tensor(expected, dtype=torch.float64), atol=1e-5))

    e0, e1 = [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]
    mid = call(e0, e1, 0.5)
    expected = [math.sqrt(0.5), math.sqrt(0.5), 0.0]
    if not same(mid, expected):
        if same(mid, [0.5, 0.5, 0.0]):
            raise CheckFailed(f"{name}: that is linear interpolation: halfway between two orthogonal unit vectors its norm is "
                              "0.71, off the shell where the prior's samples live; slerp keeps norm 1")
        raise CheckFailed(f"{name}: halfway between e1 and e2 expected {expected}, got {mid.tolist()}")
    if not (same(call(e0, e1, 0.0), e0) and same(call(e0, e1, 1.0), e1)):
        if same(call(e0, e1, 0.0), e1):
            raise CheckFailed(f"{name}: t = 0 must give z0 and t = 1 give z1; yours are swapped (sin(t θ) goes with z1)")
        raise CheckFailed(f"{name}: t = 0 must give z0 and t = 1 must give z1")
    a, b = [2.0, 1.0, -1.0], [0.5, -3.0, 1.0]
    if not same(call(a, b, 0.3), _slerp_expected(a, b, 0.3)):
        raise CheckFailed(f"{name}: wrong for vectors of different norms: the angle is arccos(<z0, z1> / (|z0| |z1|)), "
                          "and the weights are sin((1 - t) θ) / sin θ and sin(t θ) / sin θ")
    rows0, rows1 = [e0, a], [e1, b]
    got = call(rows0, rows1, 0.3)
    expected_rows = [_slerp_expected(e0, e1, 0.3), _slerp_expected(a, b, 0.3)]
    if not same(got, expected_rows):
        raise CheckFailed(f"{name}: for (N, d) inputs each row pair has its own angle: take the dot products and norms "
                          "along the last dimension (dim=-1, keepdim=True), not over the whole batch")
    par = call(e0, [3.0, 0.0, 0.0], 0.5)  # cos θ = 1 exactly
    if not torch.isfinite(par).all():
        raise CheckFailed(f"{name}: NaN for parallel vectors: sin θ = 0 there; fall back to linear interpolation when "
                          "sin θ is tiny (the formula's limit)")
    if not same(par, [2.0, 0.0, 0.0]):
        raise CheckFailed(f"{name}: for parallel vectors the result should be the straight line, (1 - t) z0 + t z1")
    print(f"✓ {name}: orthogonal, unequal-norm and parallel vectors, batched rows, endpoints")


# ----------------------------------------------------------------------------------------------------
# Notebook 04: label maps for D, the projection discriminator's logit, AC-GAN's discriminator loss
# ----------------------------------------------------------------------------------------------------


def check_one_hot_maps(fn: Callable) -> None:
    """Check ``fn(y, n_classes, size)``: (N,) labels -> (N, K, size, size), channel y all ones, the rest zeros."""
    name = "one_hot_maps"
    y = torch.tensor([2, 0, 3])
    got = fn(y, 4, 5)
    if not isinstance(got, torch.Tensor):
        raise CheckFailed(f"{name}: return a tensor, got {type(got).__name__}")
    if tuple(got.shape) == (3, 5, 5, 4):
        raise CheckFailed(f"{name}: channels last (N, size, size, K); D's convolutions want channels first (N, K, size, size): "
                          "index the one-hot vector as [:, :, None, None] and expand")
    if tuple(got.shape) != (3, 4, 5, 5):
        raise CheckFailed(f"{name}: expected shape (3, 4, 5, 5) for 3 labels, 4 classes, size 5; got {tuple(got.shape)}")
    if not got.is_floating_point():
        raise CheckFailed(f"{name}: the maps are concatenated with float images; return floats (.float()), got {got.dtype}")
    got = got.double()
    expected = torch.zeros(3, 4, 5, 5, dtype=torch.float64)
    for i, k in enumerate(y.tolist()):
        expected[i, k] = 1.0
    if torch.equal(got, expected):
        print(f"✓ {name}: channel y is all ones, the other K - 1 channels zero, shape (N, K, size, size)")
        return
    if torch.equal(got[:, :, 0, 0], got[0:1, :, 0, 0].expand(3, -1)):
        raise CheckFailed(f"{name}: every image got the same maps: the label is ignored (use each sample's own y)")
    shifted = torch.zeros_like(expected)
    for i, k in enumerate(y.tolist()):
        shifted[i, (k + 1) % 4] = 1.0
    if torch.equal(got, shifted) or torch.equal(got, torch.roll(expected, -1, dims=1)):
        raise CheckFailed(f"{name}: off by one: class k must light channel k (labels start at 0)")
    if torch.equal(got, 1 - expected):
        raise CheckFailed(f"{name}: inverted: channel y should be ones and the others zeros")
    raise CheckFailed(f"{name}: for labels {y.tolist()} with 4 classes, image i should have channel y[i] all ones and the rest zeros")


def check_projection_logits(fn: Callable) -> None:
    """Check ``fn(psi, phi, V, y)``: psi (N,) + <V[y], phi> (N,), the projection discriminator's logit."""
    name = "projection_logits"
    psi = [0.5, -1.0, 2.0]
    phi = [[1.0, 2.0], [0.0, -1.0], [3.0, 1.0]]
    V = [[1.0, 0.0], [0.0, 1.0], [2.0, -1.0]]
    y = [2, 0, 1]
    got = fn(_tensor(psi), _tensor(phi), _tensor(V), torch.tensor(y))
    if not isinstance(got, torch.Tensor):
        raise CheckFailed(f"{name}: return a tensor of one logit per image, got {type(got).__name__}")
    inner = [sum(V[k][j] * phi[i][j] for j in range(2)) for i, k in enumerate(y)]
    expected = [p + q for p, q in zip(psi, inner)]
    if tuple(got.shape) == (3, 3):
        raise CheckFailed(f"{name}: got a (N, K) matrix, the logits for every class; pick each image's own class: V[y] (N, F), "
                          "then sum (V[y] * phi) over the features")
    if got.numel() == 1:
        raise CheckFailed(f"{name}: got one number: sum over the feature dimension (dim=1) only, not over the batch")
    if tuple(got.shape) != (3,):
        raise CheckFailed(f"{name}: expected shape (N,) = (3,), got {tuple(got.shape)}")
    g = got.double().tolist()
    if all(_close(a, b) for a, b in zip(g, expected)):
        print(f"✓ {name}: psi(phi(x)) + <V_y, phi(x)>, one logit per image")
        return
    for cand, mistake in [
        (inner, "the unconditional term psi(phi(x)) is missing: D(x, y) = psi + <V_y, phi>"),
        (psi, "the label term <V_y, phi(x)> is missing: the logit ignores the label"),
        ([p * q for p, q in zip(psi, inner)], "multiplied psi by the inner product; the two terms add"),
        ([p + sum(V[i][j] * phi[i][j] for j in range(2)) for i, p in enumerate(psi)],
         "used V[i] for image i (the row of the batch position), not V[y[i]] (the row of its class)"),
    ]:
        if all(_close(a, b) for a, b in zip(g, cand)):
            raise CheckFailed(f"{name}: {mistake} (expected {expected}, got {g})")
    raise CheckFailed(f"{name}: expected {expected}, got {g}")


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
    adv = _mean([_softplus(-a) for a in r]) + _mean([_softplus(a) for a in f])
    ce_r = _mean([-_log_softmax(row)[k] for row, k in zip(rc, yr)])
    ce_f = _mean([-_log_softmax(row)[k] for row, k in zip(fc, yf)])
    got = _scalar(fn(_tensor(r), _tensor(f), _tensor(rc), _tensor(fc), torch.tensor(yr), torch.tensor(yf)), name)

    def ce_of_probs(rows, ys):  # cross_entropy applied to softmax outputs: a softmax taken twice
        probs = [[math.exp(v) for v in _log_softmax(row)] for row in rows]
        return _mean([-_log_softmax(p)[k] for p, k in zip(probs, ys)])

    _diagnose(name, got, adv + ce_r + ce_f, [
        (adv + ce_r, "the class loss on the fakes is missing: AC-GAN's D also classifies G's images as the class they were made for"),
        (adv + ce_f, "the class loss on the real images is missing"),
        (ce_r + ce_f, "the real/fake (adversarial) loss is missing"),
        (adv, "the auxiliary class loss is missing: add cross-entropy of the class logits on real and fake images"),
        (adv + ce_of_probs(rc, yr) + ce_of_probs(fc, yf), "softmax taken twice: F.cross_entropy wants raw class logits"),
        (adv + _mean([-_log_softmax(row)[k] for row, k in zip(rc, yf)]) + _mean([-_log_softmax(row)[k] for row, k in zip(fc, yr)]),
         "swapped the labels: y_real goes with the real images' class logits, y_fake with the fakes'"),
        (adv - ce_r - ce_f, "sign error: D minimises the cross-entropy (it maximises log-likelihood)"),
    ])
    print(f"✓ {name}: logistic real/fake loss + cross-entropy of the class on real and on fake images")


# ----------------------------------------------------------------------------------------------------
# Notebook 05: the VAE's KL term, the reparameterisation trick, the negative ELBO
# ----------------------------------------------------------------------------------------------------


def _rows(value, name: str, n: int) -> list[float]:
    """The learner's per-row result (n,) as floats; a single number is the usual mistake."""
    if not isinstance(value, torch.Tensor):
        raise CheckFailed(f"{name} returned {type(value).__name__}; return a tensor")
    if value.shape != (n,):
        raise CheckFailed(f"{name} returned shape {tuple(value.shape)}; it should return one number per row, shape ({n},): "
                          "sum over the latent dimensions only (dim=-1), not over the batch")
    return [float(v) for v in value.detach().double()]


def _diagnose_rows(name: str, got: list[float], expected: list[float], wrong: Sequence[tuple[list[float], str]]) -> None:
    if all(_close(g, e) for g, e in zip(got, expected)):
        return
    for value, mistake in wrong:
        if all(_close(g, v, rel=1e-4, abs_tol=1e-5) for g, v in zip(got, value)):
            raise CheckFailed(f"{name}: {mistake} (expected {[round(e, 6) for e in expected]}, got {[round(g, 6) for g in got]})")
    raise CheckFailed(f"{name}: expected {[round(e, 6) for e in expected]}, got {[round(g, 6) for g in got]}")


def _kl_row(mu: Sequence[float], logvar: Sequence[float]) -> float:
    # KL(N(mu, e^lv) || N(0, 1)) summed over dimensions: 1/2 sum(mu^2 + e^lv - 1 - lv)
    return 0.5 * sum(m * m + math.exp(lv) - 1.0 - lv for m, lv in zip(mu, logvar))


def check_kl_std_normal(fn: Callable) -> None:
    """Check ``fn(mu, logvar)`` -> (N,): KL(N(mu, diag exp(logvar)) || N(0, I)) per row."""
    name = "kl_std_normal"
    mu, logvar = [[0.5, -1.0, 2.0], [0.0, 0.3, -0.4]], [[0.2, -1.5, 0.7], [1.0, 0.25, -0.6]]
    got = _rows(fn(_tensor(mu), _tensor(logvar)), name, 2)
    expected = [_kl_row(m, lv) for m, lv in zip(mu, logvar)]
    _diagnose_rows(name, got, expected, [
        ([2 * e for e in expected], "the factor 1/2 is missing"),
        ([-e for e in expected], "sign error: KL = 1/2 sum(mu^2 + sigma^2 - 1 - log sigma^2) is never negative"),
        ([e / 3 for e in expected], "averaged over the latent dimensions; the KL of independent dimensions is their sum"),
        ([e + 1.5 for e in expected], "the -1 inside the sum is missing"),
        ([0.5 * sum(x * x + math.exp(2 * lv) - 1.0 - 2 * lv for x, lv in zip(m, lvs)) for m, lvs in zip(mu, logvar)],
         "treated logvar as log sigma: sigma^2 = exp(logvar), log sigma^2 = logvar"),
        ([0.5 * sum(x * x + lv - 1.0 - math.log(abs(lv)) for x, lv in zip(m, lvs)) for m, lvs in zip(mu, logvar)],
         "treated logvar as the variance itself: the variance is exp(logvar)"),
    ])
    zero = fn(torch.zeros(1, 3), torch.zeros(1, 3))
    if abs(float(zero.reshape(-1)[0])) > 1e-6:
        raise CheckFailed(f"{name}: KL(N(0, I) || N(0, I)) should be 0, got {float(zero.reshape(-1)[0]):.6g}")
    print(f"✓ {name}: 1/2 sum(mu^2 + exp(logvar) - 1 - logvar) per row, 0 when q = p")


def check_reparameterize(fn: Callable) -> None:
    """Check ``fn(mu, logvar, eps)`` -> z = mu + exp(logvar / 2) * eps, differentiable in mu and logvar."""
    name = "reparameterize"
    mu = torch.tensor([[1.0, -2.0]], requires_grad=True)
    logvar = torch.tensor([[0.0, math.log(4.0)]], requires_grad=True)  # sigma = (1, 2)
    eps = torch.tensor([[0.5, 1.5]])
    z = fn(mu, logvar, eps)
    if not isinstance(z, torch.Tensor) or z.shape != (1, 2):
        raise CheckFailed(f"{name}: expected a tensor of shape (1, 2) like mu, got {getattr(z, 'shape', type(z).__name__)}")
    got = [float(v) for v in z.detach().reshape(-1)]
    expected = [1.5, 1.0]  # mu + sigma * eps
    for value, mistake in [
        ([1.5, 4.0], "used the variance exp(logvar) as the scale; the standard deviation is exp(logvar / 2)"),
        ([1.5, -0.5], "forgot to scale the noise: z = mu + sigma * eps"),
        ([1.0, -2.0], "returned mu: the noise eps is missing"),
        ([0.5, 3.0], "mu is missing: z = mu + sigma * eps"),
    ]:
        if all(_close(g, v) for g, v in zip(got, value)) and not all(_close(g, e) for g, e in zip(got, expected)):
            raise CheckFailed(f"{name}: {mistake} (expected {expected}, got {got})")
    if not all(_close(g, e) for g, e in zip(got, expected)):
        raise CheckFailed(f"{name}: expected mu + exp(logvar / 2) * eps = {expected}, got {got}; use the eps given "
                          "(drawing new noise inside makes the result irreproducible)")
    if not z.requires_grad:
        raise CheckFailed(f"{name}: z carries no gradient to mu and logvar (sampling with torch.normal or .detach() blocks it); "
                          "write z = mu + std * eps, a differentiable function of mu and logvar")
    z.sum().backward()
    if mu.grad is None or logvar.grad is None:
        raise CheckFailed(f"{name}: the gradient does not reach {'mu' if mu.grad is None else 'logvar'}; build z from both")
    g_mu, g_lv = [float(v) for v in mu.grad.reshape(-1)], [float(v) for v in logvar.grad.reshape(-1)]
    if not (all(_close(g, 1.0) for g in g_mu) and all(_close(g, e) for g, e in zip(g_lv, [0.25, 1.5]))):
        raise CheckFailed(f"{name}: gradients dz/dmu {g_mu}, dz/dlogvar {g_lv}; expected [1, 1] and sigma * eps / 2 = [0.25, 1.5]")
    print(f"✓ {name}: z = mu + exp(logvar / 2) * eps; dz/dmu = 1, dz/dlogvar = sigma * eps / 2 (gradients flow)")


def check_negative_elbo(fn: Callable) -> None:
    """Check ``fn(logits, x, mu, logvar, beta)``: batch mean of (Bernoulli NLL summed over pixels + beta KL)."""
    name = "negative_elbo"
    logits = [[[[2.0, -1.0], [0.5, -3.0]]], [[[0.0, 1.5], [-0.5, 4.0]]]]  # (2, 1, 2, 2)
    x = [[[[1.0, 0.0], [1.0, 1.0]]], [[[0.0, 1.0], [0.0, 1.0]]]]
    mu, logvar = [[0.5, -1.0], [0.2, 0.0]], [[0.1, -0.7], [0.4, 0.3]]
    beta = 2.0
    flat = lambda t: [[v for plane in img for row in plane for v in row] for img in t]  # noqa: E731
    a, y = flat(logits), flat(x)
    rec = [sum(_bce(ai, yi) for ai, yi in zip(ar, yr)) for ar, yr in zip(a, y)]  # per image, summed over pixels
    kl = [_kl_row(m, lv) for m, lv in zip(mu, logvar)]
    got = _scalar(fn(_tensor(logits), _tensor(x), _tensor(mu), _tensor(logvar), beta), name)
    expected = _mean([r + beta * k for r, k in zip(rec, kl)])
    twice = [sum(_bce(_sigmoid(ai), yi) for ai, yi in zip(ar, yr)) for ar, yr in zip(a, y)]  # a sigmoid before a loss on logits
    swapped = [sum(_bce(yi, ai) for ai, yi in zip(ar, yr)) for ar, yr in zip(a, y)]
    _diagnose(name, got, expected, [
        (_mean([r / 4 + beta * k for r, k in zip(rec, kl)]),
         "the reconstruction term is averaged over pixels (a default reduction='mean'?): -log p(x | z) sums the pixels' "
         "terms (reduction='none', then .sum over pixels); averaging shrinks it by the number of pixels and lets the KL term dominate"),
        (sum(r + beta * k for r, k in zip(rec, kl)), "summed over the batch; average over images (nats per image)"),
        (_mean([r + k for r, k in zip(rec, kl)]), "beta is ignored: it multiplies the KL term"),
        (_mean([beta * r + k for r, k in zip(rec, kl)]), "beta multiplies the reconstruction term; it belongs to the KL term"),
        (_mean([r - beta * k for r, k in zip(rec, kl)]), "sign error on the KL: the negative ELBO adds it"),
        (_mean(rec), "the KL term is missing"),
        (_mean([beta * k for k in kl]), "the reconstruction term is missing"),
        (_mean([t + beta * k for t, k in zip(twice, kl)]), "a sigmoid applied before binary_cross_entropy_with_logits: pass raw logits"),
        (_mean([s + beta * k for s, k in zip(swapped, kl)]), "logits and images swapped: binary_cross_entropy_with_logits(logits, x)"),
    ])
    print(f"✓ {name}: mean over images of (Bernoulli NLL summed over pixels + beta KL)")


# ----------------------------------------------------------------------------------------------------
# Notebook 06: AdaIN, modulation with demodulation, truncation with a cutoff
# ----------------------------------------------------------------------------------------------------


def _values(n: int, a: float, b: float) -> list[float]:
    # fixed, irregular numbers: no symmetry a wrong formula could hide behind
    return [round(math.sin(a * i + b) * (1.0 + 0.3 * i), 4) for i in range(n)]


def _nested(flat: Sequence[float], shape: Sequence[int]):
    if len(shape) == 1:
        return list(flat)
    step = len(flat) // shape[0]
    return [_nested(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def _flat(t) -> list[float]:
    return [float(v) for v in torch.as_tensor(t).detach().double().reshape(-1)]


def _same(got: Sequence[float], expected: Sequence[float], tol: float = 1e-4) -> bool:
    return len(got) == len(expected) and all(math.isfinite(g) and abs(g - e) <= tol * max(1.0, abs(e)) for g, e in zip(got, expected))


def _result(value, name: str, shape: tuple[int, ...], hint: str = "") -> list[float]:
    if not isinstance(value, torch.Tensor):
        raise CheckFailed(f"{name}: return a tensor, got {type(value).__name__}")
    if tuple(value.shape) != shape:
        raise CheckFailed(f"{name}: expected shape {shape}, got {tuple(value.shape)}{hint}")
    return _flat(value)


def _first_match(name: str, got: list[float], expected: list[float], wrong: Sequence[tuple[list[float], str]], what: str) -> None:
    if _same(got, expected):
        return
    for value, mistake in wrong:
        if _same(got, value):
            raise CheckFailed(f"{name}: {mistake}")
    worst = max(range(len(got)), key=lambda i: abs(got[i] - expected[i]))
    raise CheckFailed(f"{name}: {what}; element {worst} should be {expected[worst]:.6g}, got {got[worst]:.6g}")


def _adain_expected(x: list, y: list, groups: str, ddof: int = 0, use_sx: bool = True, use_my: bool = True) -> list[float]:
    """AdaIN of nested lists x (N, C, H, W) and y (N, C, H', W'); statistics per (n, c) for groups="nc", per n over
    (C, H, W) for "n", per c over (N, H, W) for "c"; ddof=1 for the unbiased variance."""
    n, c = len(x), len(x[0])

    def stats(t, i, j):
        if groups == "nc":
            vals = [v for row in t[i][j] for v in row]
        elif groups == "n":
            vals = [v for ch in t[i] for row in ch for v in row]
        else:
            vals = [v for s in t for row in s[j] for v in row]
        m = sum(vals) / len(vals)
        return m, math.sqrt(sum((v - m) ** 2 for v in vals) / (len(vals) - ddof))

    out = []
    for i in range(n):
        for j in range(c):
            mx, sx = stats(x, i, j)
            my, sy = stats(y, i, j)
            out += [sy * (v - mx) / (sx if use_sx else 1.0) + (my if use_my else 0.0) for row in x[i][j] for v in row]
    return out


def check_adain(fn: Callable) -> None:
    """Check ``fn(content, style)`` -> sigma(y) (x - mu(x)) / sigma(x) + mu(y), statistics per sample and channel."""
    name = "adain"
    x = _nested(_values(2 * 2 * 3 * 3, 0.7, 0.1), (2, 2, 3, 3))
    y = _nested([2.0 + 3 * v for v in _values(2 * 2 * 4 * 4, 1.3, 0.5)], (2, 2, 4, 4))
    got = _result(fn(_tensor(x), _tensor(y)), name, (2, 2, 3, 3),
                  ": the output is the content's feature maps (its spatial size), restyled; did you swap content and style?")
    _first_match(name, got, _adain_expected(x, y, "nc"), [
        (_adain_expected(x, y, "n"), "statistics over the channels too (dims 1, 2, 3, like layer norm); AdaIN takes them "
                                     "per sample and per channel, over the spatial positions only: dim=(2, 3)"),
        (_adain_expected(x, y, "c"), "statistics over the batch (dims 0, 2, 3, like batch norm); AdaIN takes them per "
                                     "sample: dim=(2, 3), keepdim=True"),
        (_adain_expected(x, y, "nc", ddof=1), "unbiased standard deviations (torch.std's default divides by H W - 1); "
                                              "instance normalisation uses the biased one: unbiased=False"),
        (_adain_expected(x, y, "nc", use_my=False), "the style's mean mu(y) is missing: + mu(y) at the end"),
        (_adain_expected(x, y, "nc", use_sx=False), "the content is not divided by its own sigma(x)"),
    ], "expected sigma(y) (x - mu(x)) / sigma(x) + mu(y) with mean and biased std over (H, W) per sample and channel")
    scaled = fn(3.0 * _tensor(x) - 5.0, _tensor(y))
    if not _same(_flat(scaled), got, tol=1e-3):
        raise CheckFailed(f"{name}: AdaIN(3x - 5, y) should equal AdaIN(x, y): normalising the content removes any "
                          "positive scale and shift")
    print(f"✓ {name}: per-sample, per-channel statistics over (H, W), biased std; content scale and shift ignored")


def _modulated_expected(weight: list, styles: list, demod_dims: str, sqrt: bool = True) -> list[float]:
    """w'_{n,o,i,k} = s_{n,i} w_{o,i,k}; then each element divided by the root of the sum of the squares of all the
    elements of its sample that share its indices outside ``demod_dims`` (a subset of "oik": "ik" is demodulation,
    "" none at all)."""
    n_out, n_in = len(weight), len(weight[0])
    out = []
    for s in styles:
        mod = {(o, i, k): s[i] * v for o in range(n_out) for i in range(n_in)
               for k, v in enumerate(x for row in weight[o][i] for x in row)}
        for (o, i, k), v in mod.items():
            if not demod_dims:
                out.append(v)
                continue
            fixed = {"o": o, "i": i, "k": k}
            sq = sum(u * u for key, u in mod.items() if all(key["oik".index(d)] == fixed[d] for d in "oik" if d not in demod_dims))
            out.append(v / (math.sqrt(sq + 1e-8) if sqrt else sq + 1e-8))
    return out


def check_modulated_weights(fn: Callable) -> None:
    """Check ``fn(weight, styles)`` -> (N, out, in, k, k): w' = s_i w_oik, demodulated per sample and output map."""
    name = "modulated_weights"
    weight = _nested(_values(2 * 3 * 2 * 2, 0.9, 0.3), (2, 3, 2, 2))  # (out=2, in=3, 2, 2): out != in on purpose
    styles = [[1.5, -0.4, 0.8], [0.3, 2.0, -1.1]]
    got = _result(fn(_tensor(weight), _tensor(styles)), name, (2, 2, 3, 2, 2),
                  ": one kernel per sample, (N, out, in, k, k): weight.unsqueeze(0) * styles[:, None, :, None, None]")
    _first_match(name, got, _modulated_expected(weight, styles, "ik"), [
        (_modulated_expected(weight, styles, ""), "not demodulated: divide each output map's kernel by "
                                                  "sqrt(sum over inputs and taps of w'^2 + eps)"),
        (_modulated_expected(weight, styles, "ok"), "demodulated over the output channels (dim 1); each output map o is "
                                                    "normalised over its own inputs and taps: dim=(2, 3, 4)"),
        (_modulated_expected(weight, styles, "oik"), "demodulated over the whole kernel at once (dims 1-4); each output "
                                                     "map is normalised on its own: dim=(2, 3, 4)"),
        (_modulated_expected(weight, styles, "i"), "summed over the input channels only; the kernel taps belong in the "
                                                   "sum too: dim=(2, 3, 4)"),
        (_modulated_expected(weight, styles, "ik", sqrt=False), "divided by the sum of squares; divide by its square "
                                                                "root (torch.rsqrt)"),
    ], "expected s_i w_oik / sqrt(sum_{i,k} (s_i w_oik)^2 + eps) for each sample and output map")
    big = _flat(fn(_tensor(weight), 10.0 * _tensor(styles)))
    if not _same(big, got, tol=1e-3):
        raise CheckFailed(f"{name}: scaling a sample's style by 10 should not change its demodulated kernel")
    print(f"✓ {name}: styles scale the input channels; every output map's kernel has unit norm; style scale ignored")


def _truncated(w: list, w_avg: list, psi: float, slots) -> list[float]:
    return [a + psi * (v - a) if j in slots else v for sample in w for j, slot in enumerate(sample) for v, a in zip(slot, w_avg)]


def check_truncate(fn: Callable) -> None:
    """Check ``fn(w, w_avg, psi, cutoff)``: w_avg + psi (w - w_avg) on slots before ``cutoff`` (all when None)."""
    name = "truncate"
    w = _nested(_values(2 * 5 * 3, 1.1, 0.2), (2, 5, 3))  # (N=2, 5 slots, w_dim=3)
    w_avg = [0.5, -0.25, 1.0]
    psi, cutoff = 0.7, 2

    def call(p, c):
        return _result(fn(_tensor(w), _tensor(w_avg), p, c), name, (2, 5, 3), ": keep the shape of w, (N, n_slots, w_dim)")

    got = call(psi, cutoff)
    _first_match(name, got, _truncated(w, w_avg, psi, range(cutoff)), [
        (_truncated(w, w_avg, psi, range(5)), "every slot was truncated; only the slots before the cutoff (the coarse "
                                              "styles) are, the rest keep their own w"),
        (_truncated(w, w_avg, psi, range(cutoff, 5)), "the slots from the cutoff on were truncated; it is the ones before "
                                                      "it (the coarse resolutions)"),
        (_truncated(w, w_avg, psi, range(cutoff + 1)), "off by one: slot index cutoff itself keeps its own w (slots "
                                                       "0 .. cutoff - 1 are truncated)"),
        (_truncated(w, w_avg, 1 - psi, range(cutoff)), "psi and 1 - psi swapped: w_avg + psi (w - w_avg), so psi = 1 "
                                                       "leaves w unchanged"),
        ([v * psi if j < cutoff else v for sample in w for j, slot in enumerate(sample) for v in slot],
         "scaled w towards zero; truncation pulls it towards the average w_avg: w_avg + psi (w - w_avg)"),
    ], "expected w_avg + psi (w - w_avg) on slots 0 .. cutoff - 1 and w unchanged on the others")
    if not _same(call(psi, None), _truncated(w, w_avg, psi, range(5))):
        raise CheckFailed(f"{name}: cutoff=None means no cutoff: truncate every slot")
    if not _same(call(1.0, cutoff), _flat(_tensor(w))):
        raise CheckFailed(f"{name}: psi = 1 should leave w unchanged")
    print(f"✓ {name}: slots before the cutoff pulled towards w_avg by psi; the rest, and psi = 1, unchanged")


# ----------------------------------------------------------------------------------------------------
# Notebook 07: feature statistics, the Fréchet distance, the unbiased MMD^2 of KID
# ----------------------------------------------------------------------------------------------------


def _mean_cov(rows: list[list[float]], ddof: int = 1, centre: bool = True) -> tuple[list[float], list[list[float]]]:
    n, d = len(rows), len(rows[0])
    mu = [sum(r[j] for r in rows) / n for j in range(d)]
    c = mu if centre else [0.0] * d
    cov = [[sum((r[j] - c[j]) * (r[k] - c[k]) for r in rows) / (n - ddof) for k in range(d)] for j in range(d)]
    return mu, cov


def _pair(value, name: str, what: str):
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise CheckFailed(f"{name}: return a pair {what}, got {type(value).__name__}")
    return value


def check_mean_and_covariance(fn: Callable) -> None:
    """Check ``fn(features)`` -> (mu (D,), sigma (D, D)): the mean and unbiased covariance of the rows (samples)."""
    name = "mean_and_covariance"
    for n, d, a, b in ((5, 3, 0.8, 0.2), (4, 4, 1.7, 0.9)):  # N != D shows a wrong axis by shape, N == D by value
        rows = _nested(_values(n * d, a, b), (n, d))
        mu, sigma = _pair(fn(_tensor(rows, torch.float64)), name, "(mu, sigma)")
        got_mu = _result(mu, name, (d,), f": one mean per feature (column), over the {n} samples (rows): mean(dim=0)")
        got = _result(sigma, name, (d, d), f": a ({d}, {d}) matrix, features x features; ({n}, {n}) is the covariance of the "
                                           "samples: torch.cov expects variables in rows, torch.cov(f.T)")
        exp_mu, exp = _mean_cov(rows)
        flat = lambda m: [v for row in m for v in row]  # noqa: E731
        _first_match(name, got_mu, exp_mu, [], "the mean of each feature over the samples")
        _first_match(name, got, flat(exp), [
            (flat(_mean_cov([list(c) for c in zip(*rows)])[1]) if n == d else [],
             "the covariance over the wrong axis: rows are samples, columns are features (torch.cov(f.T), or "
             "(f - mu).T @ (f - mu) / (N - 1))"),
            (flat(_mean_cov(rows, ddof=0)[1]), "divided by N: the unbiased covariance divides by N - 1 (torch.cov's "
                                               "default, and what FID implementations use)"),
            (flat(_mean_cov(rows, centre=False)[1]), "the features were not centred: subtract the mean before the products"),
        ], "expected sum_i (x_i - mu)(x_i - mu)^T / (N - 1)")
    print(f"✓ {name}: mean over the samples, unbiased covariance of the features, (D, D)")


def _mat_mul(a: list[list[float]], b: list[list[float]]) -> list[list[float]]:
    return [[sum(a[i][k] * b[k][j] for k in range(len(b))) for j in range(len(b[0]))] for i in range(len(a))]


def _sqrt_2x2(m: list[list[float]]) -> list[list[float]]:
    # symmetric positive definite 2x2: sqrt(M) = (M + sqrt(det M) I) / sqrt(tr M + 2 sqrt(det M))
    s = math.sqrt(m[0][0] * m[1][1] - m[0][1] * m[1][0])
    t = math.sqrt(m[0][0] + m[1][1] + 2 * s)
    return [[(m[0][0] + s) / t, m[0][1] / t], [m[1][0] / t, (m[1][1] + s) / t]]


def _fd_2x2_plus_1(mu1, a1, c1, mu2, a2, c2, cross: str = "matrix", mean_sq: bool = True, factor: float = 2.0) -> float:
    """FD between N(mu1, diag(a1, c1)) and N(mu2, diag(a2, c2)), a1, a2 2x2 blocks, c1, c2 scalars; ``cross`` says how
    tr (S1 S2)^(1/2) is (mis)computed."""
    p = _mat_mul(a1, a2)
    if cross == "matrix":  # the eigenvalues l1, l2 of A1 A2: sqrt(l1) + sqrt(l2) = sqrt(l1 + l2 + 2 sqrt(l1 l2))
        det = (a1[0][0] * a1[1][1] - a1[0][1] ** 2) * (a2[0][0] * a2[1][1] - a2[0][1] ** 2)
        tr = math.sqrt(p[0][0] + p[1][1] + 2 * math.sqrt(det)) + math.sqrt(c1 * c2)
    elif cross == "hadamard":  # sqrt(S1 * S2) element by element, then the trace
        tr = math.sqrt(a1[0][0] * a2[0][0]) + math.sqrt(a1[1][1] * a2[1][1]) + math.sqrt(c1 * c2)
    elif cross == "entries":  # the matrix product's diagonal entries, each square-rooted
        tr = math.sqrt(p[0][0]) + math.sqrt(p[1][1]) + math.sqrt(c1 * c2)
    else:  # "roots": tr(S1^(1/2) S2^(1/2))
        q = _mat_mul(_sqrt_2x2(a1), _sqrt_2x2(a2))
        tr = q[0][0] + q[1][1] + math.sqrt(c1 * c2)
    sq = sum((x - y) ** 2 for x, y in zip(mu1, mu2))
    return (sq if mean_sq else math.sqrt(sq)) + a1[0][0] + a1[1][1] + c1 + a2[0][0] + a2[1][1] + c2 - factor * tr


def check_frechet_from_stats(fn: Callable) -> None:
    """Check ``fn(mu1, sigma1, mu2, sigma2)`` -> ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)), singular S1 included."""
    name = "frechet_from_stats"
    mu1, mu2 = [0.5, -1.0, 2.0], [1.5, 0.5, 1.0]
    a1, c1, a2, c2 = [[2.0, 0.9], [0.9, 1.0]], 0.5, [[1.0, -0.4], [-0.4, 3.0]], 2.0  # non-commuting blocks

    def full(a, c):
        return [[a[0][0], a[0][1], 0.0], [a[1][0], a[1][1], 0.0], [0.0, 0.0, c]]

    def call(m1, s1, m2, s2) -> float:
        return _scalar(fn(*(_tensor(v, torch.float64) for v in (m1, s1, m2, s2))), name)

    got = call(mu1, full(a1, c1), mu2, full(a2, c2))
    expected = _fd_2x2_plus_1(mu1, a1, c1, mu2, a2, c2)
    _diagnose(name, got, expected, [
        (_fd_2x2_plus_1(mu1, a1, c1, mu2, a2, c2, cross="hadamard"),
         "the square root was taken element by element (sqrt(S1 * S2)); (S1 S2)^(1/2) is a matrix square root: use the "
         "eigenvalues of the symmetric matrix sqrt(S1) S2 sqrt(S1)"),
        (_fd_2x2_plus_1(mu1, a1, c1, mu2, a2, c2, cross="entries"),
         "the square root of the matrix product was taken entry by entry; (S1 S2)^(1/2) is a matrix square root: the sum "
         "of the square roots of the eigenvalues of sqrt(S1) S2 sqrt(S1)"),
        (_fd_2x2_plus_1(mu1, a1, c1, mu2, a2, c2, cross="roots"),
         "tr(S1^(1/2) S2^(1/2)) is not tr (S1 S2)^(1/2) unless S1 and S2 commute: take the eigenvalues of sqrt(S1) S2 sqrt(S1)"),
        (_fd_2x2_plus_1(mu1, a1, c1, mu2, a2, c2, factor=1.0), "the cross term needs its factor 2: - 2 tr (S1 S2)^(1/2)"),
        (_fd_2x2_plus_1(mu1, a1, c1, mu2, a2, c2, mean_sq=False), "the mean term is the squared distance ||mu1 - mu2||^2"),
    ], "for two 3-d Gaussians with non-commuting covariances")
    if not _close(call(mu2, full(a2, c2), mu1, full(a1, c1)), expected):
        raise CheckFailed(f"{name}: the distance should be symmetric: swapping the two Gaussians changed it")
    v = [1.0, 2.0, -1.0]  # S1 = v v^T has rank 1, as a covariance of fewer samples than features does
    s1 = [[a * b for b in v] for a in v]
    s2 = full(a2, c2)
    v_s2_v = sum(v[i] * s2[i][j] * v[j] for i in range(3) for j in range(3))
    expected_singular = sum((x - y) ** 2 for x, y in zip(mu1, mu2)) + sum(a * a for a in v) + sum(s2[i][i] for i in range(3)) \
        - 2 * math.sqrt(v_s2_v)  # S1 S2 = v (v^T S2) has one non-zero eigenvalue, v^T S2 v
    got_singular = call(mu1, s1, mu2, s2)
    if not math.isfinite(got_singular):
        raise CheckFailed(f"{name}: NaN or inf for a singular covariance (rank 1, as with fewer samples than features): round-off "
                          "makes some eigenvalues slightly negative; clip them at 0 before the square root (.clamp(min=0))")
    _diagnose(name, got_singular, expected_singular, [], "for a singular S1 = v v^T")
    print(f"✓ {name}: matrix square root through a symmetric eigenproblem; symmetric; finite for a singular covariance")


def _cubic(a: Sequence[float], b: Sequence[float], scale: bool = True) -> float:
    return (sum(x * y for x, y in zip(a, b)) / (len(a) if scale else 1.0) + 1.0) ** 3


def _mmd2(x, y, diagonal: bool = False, pairs: str = "m(m-1)", cross: float = 2.0, scale: bool = True) -> float:
    def within(s):
        m = len(s)
        total = sum(_cubic(s[i], s[j], scale) for i in range(m) for j in range(m) if diagonal or i != j)
        return total / (m * (m - 1) if pairs == "m(m-1)" else m * m)

    k_xy = sum(_cubic(a, b, scale) for a in x for b in y) / (len(x) * len(y))
    return within(x) + within(y) - cross * k_xy


def check_mmd2_estimate(fn: Callable) -> None:
    """Check ``fn(x, y)`` -> the unbiased MMD^2 with k(a, b) = (a . b / d + 1)^3, for x (m, d) and y (n, d), m != n."""
    name = "mmd2_estimate"
    x = _nested(_values(4 * 3, 0.9, 0.4), (4, 3))
    y = _nested([0.5 + v for v in _values(5 * 3, 1.4, 0.7)], (5, 3))
    got = _scalar(fn(_tensor(x, torch.float64), _tensor(y, torch.float64)), name)
    _diagnose(name, got, _mmd2(x, y), [
        (_mmd2(x, y, diagonal=True, pairs="m^2"), "the diagonal terms k(x_i, x_i) and k(y_j, y_j) were left in (the biased "
                                                  "V-statistic): average the within-set kernels over the pairs i != j"),
        (_mmd2(x, y, diagonal=True), "the diagonal terms k(x_i, x_i) are still in the sums: subtract the trace of K_xx "
                                     "and K_yy before dividing by m (m - 1)"),
        (_mmd2(x, y, pairs="m^2"), "divided by m^2: without the diagonal there are m (m - 1) pairs"),
        (_mmd2(x, y, cross=1.0), "the cross term counts twice: - 2 mean k(x_i, y_j)"),
        (_mmd2(x, y, scale=False), "the kernel is (x . y / d + 1)^3: divide the dot product by the dimension d"),
    ], "(m = 4, n = 5, d = 3)")
    same = _scalar(fn(_tensor(x, torch.float64), _tensor(x, torch.float64)), name)
    if not _close(same, _mmd2(x, x)):
        raise CheckFailed(f"{name}: wrong value when both sets are the same ({same:.6g}, expected {_mmd2(x, x):.6g})")
    print(f"✓ {name}: within-set kernels averaged over i != j, cross term doubled; can be negative ({_mmd2(x, x):.4f} for x "
          "against itself)")
