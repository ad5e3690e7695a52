"""Tests of gan_tutor.checks.gan_maths (notebook 01, GAN maths): correct solutions pass, each common mistake is
named."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gan_tutor import checks
from gan_tutor.checks import CheckFailed
from gan_tutor.gan_math import d_logistic_loss, g_nonsaturating_loss, g_saturating_loss


# ---------------------------------------------------------------------------------------------------
# optimal discriminator
# ---------------------------------------------------------------------------------------------------


def od_correct(p_data, p_g):
    total = p_data + p_g
    return torch.where(total > 0, p_data / total.clamp_min(1e-300), torch.full_like(total, 0.5))


def od_naive(p_data, p_g):
    return p_data / (p_data + p_g)  # NaN at 0/0


def od_eps(p_data, p_g):
    return p_data / (p_data + p_g + 1e-12)  # 0 at 0/0


OD_MISTAKES = [
    (lambda pd, pg: pg / (pd + pg), "swapped p_data and p_g"),
    (lambda pd, pg: pd, "missing normalisation: returned p_data itself"),
    (lambda pd, pg: pd / pg, "missing normalisation: returned the density ratio"),
    (od_naive, "NaN where p_data = p_g = 0"),
    (od_eps, "convention is 0.5"),
    (lambda pd, pg: (pd / (pd + pg)).sum(), r"returned shape \(\)"),
    (lambda pd, pg: pd / (pd + 2 * pg), "expected D\\* = 0.25"),
]


def test_optimal_discriminator_check_passes_correct(capsys):
    checks.check_optimal_discriminator(od_correct)
    assert capsys.readouterr().out.startswith("✓ optimal_discriminator:")


@pytest.mark.parametrize("fn,phrase", OD_MISTAKES)
def test_optimal_discriminator_check_names_mistake(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_optimal_discriminator(fn)


# ---------------------------------------------------------------------------------------------------
# Jensen-Shannon divergence
# ---------------------------------------------------------------------------------------------------


def _kl(p, q, dx):
    return (torch.special.xlogy(p, p) - torch.special.xlogy(p, q)).sum() * dx


def jsd_correct(p, q, dx):
    m = 0.5 * (p + q)
    return 0.5 * _kl(p, m, dx) + 0.5 * _kl(q, m, dx)


def jsd_nan(p, q, dx):
    m = 0.5 * (p + q)
    return 0.5 * ((p * torch.log(p / m)).sum() + (q * torch.log(q / m)).sum()) * dx


JSD_MISTAKES = [
    (lambda p, q, dx: jsd_correct(p, q, dx) / math.log(2), "bits instead of nats"),
    (lambda p, q, dx: 2 * jsd_correct(p, q, dx), "missing the 1/2"),
    (lambda p, q, dx: jsd_correct(p, q, dx) / dx, "not multiplied by dx"),
    (_kl, "KL divergence, not JSD"),
    (lambda p, q, dx: _kl(p, q, dx) + _kl(q, p, dx), "KL divergence, not JSD"),
    (jsd_nan, "0 log 0"),
    # a KL that is finite on Gaussians' grids but asymmetric: caught by the swap
    (lambda p, q, dx: jsd_correct(p, q, dx) * (1 + 0.1 * (p.argmax() > q.argmax())), "not symmetric"),
]


def test_js_divergence_check_passes_correct(capsys):
    checks.check_js_divergence(jsd_correct)
    assert capsys.readouterr().out.startswith("✓ js_divergence:")


def test_js_divergence_check_passes_package_version(capsys):
    from gan_tutor.gan_math import js_divergence

    checks.check_js_divergence(js_divergence)
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("fn,phrase", JSD_MISTAKES)
def test_js_divergence_check_names_mistake(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_js_divergence(fn)


# ---------------------------------------------------------------------------------------------------
# d_loss and the non-saturating generator loss
# ---------------------------------------------------------------------------------------------------


def d_loss_correct(r, f):
    return F.softplus(-r).mean() + F.softplus(f).mean()


D_LOSS_MISTAKES = [
    (lambda r, f: -d_loss_correct(r, f), "sign error"),
    (lambda r, f: F.softplus(-r).sum() + F.softplus(f).sum(), "sum instead of mean"),
    (lambda r, f: d_loss_correct(f, r), "swapped real and fake"),
    (lambda r, f: F.binary_cross_entropy_with_logits(
        torch.cat([r, f]), torch.cat([torch.ones_like(r), torch.zeros_like(f)])), "averaged the real and fake terms"),
    (lambda r, f: F.softplus(-r).mean() + F.softplus(-f).mean(), "labelled the fakes as real"),
    (lambda r, f: F.softplus(-r).mean(), "left out the fake term"),
    (lambda r, f: -torch.log(torch.sigmoid(r)).mean() - torch.log(1 - torch.sigmoid(f)).mean(),
     r"non-finite .* computed log\(sigmoid\(\.\)\) directly"),
    (lambda r, f: F.binary_cross_entropy(torch.sigmoid(r), torch.ones_like(r))
     + F.binary_cross_entropy(torch.sigmoid(f), torch.zeros_like(f)), "wrong at large logits"),
    (lambda r, f: F.softplus(-r) + F.softplus(f), r"tensor of shape \(5,\)"),
    (lambda r, f: 0.9 * d_loss_correct(r, f), r"d_loss: expected 1\.48\d+, got 1\.33"),
]


def test_d_loss_check_passes_correct(capsys):
    checks.check_d_loss(d_loss_correct)
    checks.check_d_loss(lambda r, f: d_logistic_loss(r, f))
    out = capsys.readouterr().out
    assert out.startswith("✓ d_loss:") and out.count("✓") == 2


@pytest.mark.parametrize("fn,phrase", D_LOSS_MISTAKES)
def test_d_loss_check_names_mistake(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_d_loss(fn)


G_LOSS_MISTAKES = [
    (g_saturating_loss, "saturating .* gradient vanishes when D\\(G\\(z\\)\\) -> 0"),
    (lambda f: -F.softplus(-f).mean(), "sign error"),
    (lambda f: F.softplus(f).mean(), "used the fake target 0"),
    (lambda f: F.softplus(-f).sum(), "sum instead of mean"),
    (lambda f: -torch.log(torch.sigmoid(f)).mean(), "non-finite"),
    (lambda f: torch.tensor(F.softplus(-f).mean().item()), "not connected to the logits"),
    # right value, but the gradient is that of the saturating loss: value from one, gradient from the other
    (lambda f: F.softplus(-f).mean().detach() + g_saturating_loss(f) - g_saturating_loss(f).detach(),
     "gradient .* saturating"),
]


def test_g_loss_check_passes_correct(capsys):
    checks.check_g_loss_nonsaturating(g_nonsaturating_loss)
    checks.check_g_loss_nonsaturating(lambda f: F.binary_cross_entropy_with_logits(f, torch.ones_like(f)))
    out = capsys.readouterr().out
    assert out.startswith("✓ g_loss_nonsaturating:") and out.count("✓") == 2


@pytest.mark.parametrize("fn,phrase", G_LOSS_MISTAKES)
def test_g_loss_check_names_mistake(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_g_loss_nonsaturating(fn)
