"""Tests of gan_tutor.checks.stability (notebook 08): correct solutions pass, each common mistake is named, and no
message gives the answer away."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gan_tutor import checks, stability
from gan_tutor.checks import CheckFailed


# --- the Wasserstein losses --------------------------------------------------------------------------


def d_right(real, fake):
    return fake.mean() - real.mean()


def g_right(fake):
    return -fake.mean()


def test_wasserstein_losses_check_passes_the_module_and_a_hand_solution(capsys):
    checks.check_wasserstein_losses(d_right, g_right)
    checks.check_wasserstein_losses(stability.d_wasserstein_loss, stability.g_wasserstein_loss)
    assert capsys.readouterr().out.startswith("✓")


@pytest.mark.parametrize("d, g, phrase", [
    (lambda r, f: r.mean() - f.mean(), g_right, "sign is flipped"),
    (lambda r, f: F.softplus(-r).mean() + F.softplus(f).mean(), g_right, "logistic"),
    (lambda r, f: f.sum() - r.sum(), g_right, "summed over the batch"),
    (lambda r, f: (f - r[: len(f)]).mean(), g_right, "paired real and fake"),
    (d_right, lambda f: f.mean(), "generator wants"),
    (d_right, lambda f: F.softplus(-f).mean(), "non-saturating"),
    (d_right, lambda f: -f.sum(), "summed over the batch"),
])
def test_wasserstein_losses_check_names_mistakes(d, g, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_wasserstein_losses(d, g)


# --- the gradient penalty ----------------------------------------------------------------------------


def gp_right(D, real, fake, generator):
    eps = torch.rand(real.shape[0], 1, 1, 1, generator=generator)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def _gp(eps_shape=None, norm=None, target=1.0, sign=1.0, reduce="mean", create_graph=True, where="between"):
    def fn(D, real, fake, generator):
        shape = eps_shape(real) if eps_shape else (real.shape[0], 1, 1, 1)
        eps = torch.rand(*shape, generator=generator)
        x_hat = {"between": eps * real + (1 - eps) * fake, "real": real.clone(), "fake": fake.clone()}[where].requires_grad_(True)
        (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=create_graph)
        n = norm(grad) if norm else grad.flatten(1).norm(dim=1)
        per = (n - target) ** 2
        return sign * (per.mean() if reduce == "mean" else per.sum())
    return fn


def test_gradient_penalty_check_passes_the_module_and_a_hand_solution(capsys):
    checks.check_gradient_penalty(gp_right)
    checks.check_gradient_penalty(lambda D, r, f, g: stability.gradient_penalty(D, r, f, generator=g))
    assert "✓ gradient_penalty" in capsys.readouterr().out


@pytest.mark.parametrize("fn, phrase", [
    (_gp(norm=lambda g: g.abs()), "per element"),
    (_gp(eps_shape=lambda r: (1, 1, 1, 1)), "one interpolation weight for the whole batch"),
    (_gp(norm=lambda g: g.norm()), "one norm over the whole batch"),
    (_gp(target=0.0), "target is 0"),
    (_gp(sign=-1.0), "sign is flipped"),
    (_gp(norm=lambda g: g.flatten(1).pow(2).sum(1)), "squared norm"),
    (_gp(reduce="sum"), "summed over the batch"),
    (_gp(where="real"), "at the real images"),
    (_gp(where="fake"), "at the fake images"),
    (_gp(create_graph=False), "detached from D's parameters"),
])
def test_gradient_penalty_check_names_mistakes(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_gradient_penalty(fn)


def test_gradient_penalty_check_messages_do_not_give_the_code():
    for fn in (_gp(norm=lambda g: g.abs()), _gp(create_graph=False), _gp(target=0.0)):
        with pytest.raises(CheckFailed) as e:
            checks.check_gradient_penalty(fn)
        assert "create_graph" not in str(e.value) and "torch." not in str(e.value) and ".norm(" not in str(e.value)


# --- one power-iteration step ------------------------------------------------------------------------


def pi_right(W, u):
    v = F.normalize(W.T @ u, dim=0)
    u_new = F.normalize(W @ v, dim=0)
    return u_new @ W @ v, u_new, v


def test_power_iteration_check_passes_the_module_and_a_hand_solution(capsys):
    checks.check_power_iteration(pi_right)
    checks.check_power_iteration(lambda W, u: stability.power_iteration(W, u, steps=1))
    assert capsys.readouterr().out.startswith("✓")


def _pi_old_u(W, u):
    v = F.normalize(W.T @ u, dim=0)
    return u @ W @ v, F.normalize(W @ v, dim=0), v


def _pi_raw_u(W, u):
    v = F.normalize(W.T @ u, dim=0)
    u_new = W @ v
    return u_new @ W @ v, u_new, v


def _pi_raw_v(W, u):
    v = W.T @ u
    u_new = F.normalize(W @ F.normalize(v, dim=0), dim=0)
    return u_new @ W @ F.normalize(v, dim=0), u_new, v


@pytest.mark.parametrize("fn, phrase", [
    (_pi_old_u, "old u"),
    (_pi_raw_u, "u was not normalised"),
    (lambda W, u: (torch.linalg.matrix_norm(W),) + pi_right(W, u)[1:], "Frobenius"),
    (_pi_raw_v, "v was not normalised"),
    (lambda W, u: pi_right(W.T, u), "shape error"),
    (lambda W, u: pi_right(W, u)[:2], "return a tuple"),
])
def test_power_iteration_check_names_mistakes(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_power_iteration(fn)
