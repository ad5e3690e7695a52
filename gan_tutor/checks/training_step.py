"""Checks of notebook 02 (vanilla GAN training step): one discriminator step, one generator step, and the
discriminator's loss with one-sided label smoothing.

The steps run on linear stand-in networks, G(z) = A z + c (nn.Linear(2, 2)) and D(x) = w . x + b
(nn.Linear(2, 1)), so every gradient has a closed form. For a loss L = mean_i l(a_i) over logits
a_i = w . x_i + b:
  dL/dw = mean_i l'(a_i) x_i,  dL/db = mean_i l'(a_i);
through G, with x_j = A z_j + c:  dL/dA = mean_j l'(a_j) w z_j^T,  dL/dc = mean_j l'(a_j) w.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

from .core import (BATCH_MEAN, BIG_FAKE, BIG_REAL, FAKE_LOGITS, REAL_LOGITS, CheckFailed, close, diagnose, floats,
                   logistic_d_loss, mean, mean_bce, numbers, show, sigmoid, tensor, verify_large_logits)

__all__ = ["check_d_step", "check_g_step", "check_d_loss_smoothed"]

G_WEIGHT = [[0.8, -0.3], [0.2, 1.1]]  # A
G_BIAS = [0.5, -0.4]  # c
D_WEIGHT = [[1.2, -0.7]]  # w
D_BIAS = [0.3]  # b
REAL = [[1.0, 2.0], [-0.5, 0.3], [2.0, -1.0], [0.1, 0.4]]  # (N, 2) "images"
Z = [[0.3, -1.2], [1.5, 0.2], [-0.7, 0.8], [0.0, -0.5]]  # (N, 2) noise
LR = 0.1
UPDATE_TOL = (0.0, 1e-5)  # parameters after one step: absolute tolerance only


def _stand_ins(stepped: str, junk: list[list[float]]) -> tuple[nn.Linear, nn.Linear, torch.optim.SGD]:
    """G and D, and an SGD optimiser over the parameters of the one that takes the step ("G" or "D"), whose .grad
    already holds ``junk`` (flattened weight, then bias), as a previous step of the other network leaves there: a
    missing zero_grad adds it to the update."""
    # skip_init: no random initialisation, so the learner's global RNG state is left untouched
    G = nn.utils.skip_init(nn.Linear, 2, 2)
    D = nn.utils.skip_init(nn.Linear, 2, 1)
    with torch.no_grad():
        G.weight.copy_(tensor(G_WEIGHT))
        G.bias.copy_(tensor(G_BIAS))
        D.weight.copy_(tensor(D_WEIGHT))
        D.bias.copy_(tensor(D_BIAS))
    net = G if stepped == "G" else D
    for p, stale in zip(net.parameters(), junk):
        p.grad = tensor(stale).reshape(p.shape)
    return G, D, torch.optim.SGD(net.parameters(), lr=LR)


def _g_of(z: Sequence[float]) -> list[float]:
    return [sum(G_WEIGHT[k][m] * z[m] for m in range(2)) + G_BIAS[k] for k in range(2)]


def _d_of(x: Sequence[float]) -> float:
    return sum(D_WEIGHT[0][m] * x[m] for m in range(2)) + D_BIAS[0]


def _params(module: nn.Module) -> list[list[float]]:
    return [numbers(p) for p in module.parameters()]


def _sgd(params: list[list[float]], grads: list[list[float]], scale: float = 1.0) -> list[list[float]]:
    return [[p - LR * scale * g for p, g in zip(pp, gg)] for pp, gg in zip(params, grads)]


def _add(a: list[list[float]], b: list[list[float]]) -> list[list[float]]:
    return [[x + y for x, y in zip(u, v)] for u, v in zip(a, b)]


def _diagnose_step(name: str, who: str, got, expected, wrong, out, loss_before: float, step: str, done: str) -> None:
    """The parameters after the step (or the mistake whose update they match), then the loss the step returned; on
    success, print ``done``."""
    diagnose(
        name,
        got,
        expected,
        wrong,
        what=lambda _: f"{who}'s parameters [weight, bias] after one SGD step (lr={LR}) should be {show(expected)}, "
                       f"got {show(got)}",
        tol=UPDATE_TOL,
        mistake_tol=UPDATE_TOL,
    )
    if isinstance(out, torch.Tensor) and out.requires_grad:
        raise CheckFailed(
            f"{name}: returned the loss tensor with its graph; return loss.item(), a Python float, so the graph "
            "of the step is freed"
        )
    diagnose(name, floats(out, name, hint="return loss.item()"), loss_before,
             where=f"(the {step} loss computed before the update: return loss.item())")
    print(f"✓ {name}: {who}'s SGD update equals the closed-form gradient of {done}, stale gradients cleared, "
          "pre-step loss returned")


def check_d_step(fn: Callable) -> None:
    """Check ``fn(G, D, opt_D, real, z) -> float``: one SGD step of D on -[log D(x) + log(1 - D(G(z)))]."""
    name = "d_step"
    junk = [[3.0, -2.0], [1.5]]  # stale .grad of D (w, then b)
    G, D, opt_D = _stand_ins("D", junk)
    g_before, d_before = _params(G), _params(D)

    fake = [_g_of(z) for z in Z]
    r = [_d_of(x) for x in REAL]
    f = [_d_of(x) for x in fake]

    def grads(l_real: Callable[[float], float], l_fake: Callable[[float], float]) -> list[list[float]]:
        # l_real, l_fake: derivatives of the per-sample loss terms w.r.t. their logits
        gw = [mean([l_real(a) * x[m] for a, x in zip(r, REAL)]) + mean([l_fake(a) * x[m] for a, x in zip(f, fake)])
              for m in range(2)]
        gb = mean([l_real(a) for a in r]) + mean([l_fake(a) for a in f])
        return [gw, [gb]]

    # d/da softplus(-a) = -(1 - sigmoid(a)) (real, target 1);  d/da softplus(a) = sigmoid(a) (fake, target 0)
    correct = grads(lambda a: -(1 - sigmoid(a)), sigmoid)
    loss_before = logistic_d_loss(r, f)

    out = fn(G, D, opt_D, tensor(REAL), tensor(Z))

    if not close(_params(G), g_before, 0.0, 0.0):
        raise CheckFailed(f"{name}: the generator's weights changed during the discriminator step: step only opt_D")
    for p in G.parameters():
        if p.grad is not None and p.grad.abs().sum() > 0:
            raise CheckFailed(
                f"{name}: the generator received gradients during the discriminator step: did you detach the fake "
                "images? (fake = G(z).detach())"
            )
    _diagnose_step(name, "D", _params(D), _sgd(d_before, correct), [
        (_sgd(d_before, _add(correct, junk)), "the update includes stale gradients: call opt_D.zero_grad() "
         "before loss.backward() (gradients accumulate in .grad)"),
        (d_before, "D's weights did not change: call loss.backward() and then opt_D.step()"),
        (_sgd(d_before, correct, scale=-1.0), "sign error: the step increases the loss; the discriminator "
         "minimises -[log D(x) + log(1 - D(G(z)))]"),
        (_sgd(d_before, grads(sigmoid, lambda a: -(1 - sigmoid(a)))), "swapped labels: real images take "
         "target 1 and fakes target 0"),
        (_sgd(d_before, grads(lambda a: -(1 - sigmoid(a)), lambda a: -(1 - sigmoid(a)))),
         "labelled the fakes as real (the generator's -log D(G(z))): the fake term is -log(1 - D(G(z)))"),
        (_sgd(d_before, correct, scale=len(Z)), "sum instead of mean over the batch"),
        (_sgd(d_before, grads(lambda a: -(1 - sigmoid(a)), lambda a: 0.0)), "left out the fake term"),
        (_sgd(d_before, grads(lambda a: 0.0, sigmoid)), "left out the real term"),
    ], out, loss_before, "discriminator", "-[log D(x) + log(1 - D(G(z)))] for a linear D, no gradient reached G")


def check_g_step(fn: Callable) -> None:
    """Check ``fn(G, D, opt_G, z) -> float``: one SGD step of G on the non-saturating -log D(G(z))."""
    name = "g_step"
    junk = [[1.0, -2.0, 0.5, 2.5], [-1.5, 1.0]]  # stale .grad of G (flattened A, then c)
    G, D, opt_G = _stand_ins("G", junk)
    g_before, d_before = _params(G), _params(D)

    fake = [_g_of(z) for z in Z]
    f = [_d_of(x) for x in fake]
    w = D_WEIGHT[0]

    def grads(l_fake: Callable[[float], float]) -> list[list[float]]:
        # dL/dA_km = mean_j l'(f_j) w_k z_jm;  dL/dc_k = mean_j l'(f_j) w_k
        gA = [mean([l_fake(a) * w[k] * z[m] for a, z in zip(f, Z)]) for k in range(2) for m in range(2)]
        gc = [mean([l_fake(a) * w[k] for a in f]) for k in range(2)]
        return [gA, gc]

    # non-saturating: d/da softplus(-a) = -(1 - sigmoid(a))
    correct = grads(lambda a: -(1 - sigmoid(a)))
    loss_before = mean_bce(f, 1.0)

    out = fn(G, D, opt_G, tensor(Z))

    if not close(_params(D), d_before, 0.0, 0.0):
        raise CheckFailed(f"{name}: the discriminator's weights changed during the generator step: step only opt_G")
    _diagnose_step(name, "G", _params(G), _sgd(g_before, correct), [
        (_sgd(g_before, grads(lambda a: -sigmoid(a))), "this update follows the saturating loss "
         "log(1 - D(G(z))), whose gradient vanishes when D(G(z)) -> 0; minimise -log D(G(z))"),
        (_sgd(g_before, _add(correct, junk)), "the update includes stale gradients: call opt_G.zero_grad() "
         "before loss.backward()"),
        (g_before, "G's weights did not change: call loss.backward() and opt_G.step(), and do not detach G(z) "
         "in the generator step (the gradient must flow through D into G)"),
        (_sgd(g_before, correct, scale=-1.0), "sign error: the step increases -log D(G(z))"),
        (_sgd(g_before, grads(sigmoid)), "used the fake target 0, -log(1 - D(G(z))): the generator wants D to "
         "call its fakes real (target 1)"),
        (_sgd(g_before, correct, scale=len(Z)), "sum instead of mean over the batch"),
    ], out, loss_before, "generator", "-log D(G(z)) through a linear D and G, D unchanged")


def check_d_loss_smoothed(fn: Callable) -> None:
    """Check ``fn(real_logits, fake_logits, real_label=0.9)``: one-sided label smoothing (Salimans et al. 2016)."""
    name = "d_loss_smoothed"

    def loss(real_target: float, fake_target: float) -> float:
        return logistic_d_loss(REAL_LOGITS, FAKE_LOGITS, real_target, fake_target)

    for label, call in [
        (0.9, lambda: fn(tensor(REAL_LOGITS), tensor(FAKE_LOGITS))),
        (0.7, lambda: fn(tensor(REAL_LOGITS), tensor(FAKE_LOGITS), real_label=0.7)),
    ]:
        expected = loss(label, 0.0)
        got = floats(call(), name, hint=BATCH_MEAN)
        wrong = [
            (loss(label, 1.0 - label), f"smoothed the fake labels too (two-sided): one-sided smoothing keeps the "
             f"fake target at 0 (here the fakes got {1 - label:.1f})"),
            (loss(1.0, 0.0), "ignored real_label: the real targets must be real_label, not 1"),
            (loss(1.0 - label, 0.0), "used 1 - real_label for real: the real target is real_label itself"),
            (-expected, "sign error: the loss is BCE, -[y log D + (1 - y) log(1 - D)]"),
            (len(REAL_LOGITS) * expected, "sum instead of mean over the batch"),
            (loss(0.0, label), "swapped real and fake: the smoothed target belongs to the real logits"),
        ]
        if label != 0.9:
            wrong.insert(0, (loss(0.9, 0.0), "ignored real_label: used 0.9 whatever real_label is passed"))
        diagnose(name, got, expected, wrong, f"with real_label={label}")
    verify_large_logits(name, fn(tensor(BIG_REAL), tensor(BIG_FAKE)), logistic_d_loss(BIG_REAL, BIG_FAKE, 0.9))
    print(
        f"✓ {name}: mean BCE(real, real_label) + mean BCE(fake, 0) for real_label = 0.9 (default) and 0.7, "
        "finite at logits of ±200"
    )
