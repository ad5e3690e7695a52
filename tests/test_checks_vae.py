"""Tests of gan_tutor.checks.vae (notebook 05, VAE): correct solutions pass, each common mistake is
named."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gan_tutor import checks
from gan_tutor.checks import CheckFailed


# Notebook 05: written here with torch primitives, independently of gan_tutor.vae


def _kl_normal(mu, lv):
    return 0.5 * (mu.pow(2) + lv.exp() - 1 - lv).sum(-1)


def _nelbo(logits, x, mu, lv, beta, reduce_pixels="sum"):
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1)
    rec = bce.sum(1) if reduce_pixels == "sum" else bce.mean(1)
    return (rec + beta * _kl_normal(mu, lv)).mean()


def test_nb05_checks_pass_correct(capsys):
    checks.check_kl_std_normal(_kl_normal)
    checks.check_reparameterize(lambda mu, lv, eps: mu + (0.5 * lv).exp() * eps)
    checks.check_reparameterize(lambda mu, lv, eps: mu + lv.exp().sqrt() * eps)  # another correct form
    checks.check_negative_elbo(_nelbo)
    assert capsys.readouterr().out.count("✓") == 4


@pytest.mark.parametrize("fn, phrase", [
    (lambda mu, lv: (mu.pow(2) + lv.exp() - 1 - lv).sum(-1), "1/2 is missing"),
    (lambda mu, lv: -_kl_normal(mu, lv), "sign error"),
    (lambda mu, lv: 0.5 * (mu.pow(2) + lv.exp() - 1 - lv).mean(-1), "averaged over the latent dimensions"),
    (lambda mu, lv: 0.5 * (mu.pow(2) + lv.exp() - lv).sum(-1), "-1 inside the sum"),
    (lambda mu, lv: 0.5 * (mu.pow(2) + (2 * lv).exp() - 1 - 2 * lv).sum(-1), "log sigma"),
    (lambda mu, lv: 0.5 * (mu.pow(2) + lv - 1 - lv.abs().log()).sum(-1), "variance itself"),
    (lambda mu, lv: _kl_normal(mu, lv).sum(), "one number per row"),
])
def test_kl_check_names_mistake(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_kl_std_normal(fn)


@pytest.mark.parametrize("fn, phrase", [
    (lambda mu, lv, eps: mu + lv.exp() * eps, "variance"),
    (lambda mu, lv, eps: mu + eps, "forgot to scale"),
    (lambda mu, lv, eps: mu.clone(), "noise eps is missing"),
    (lambda mu, lv, eps: (0.5 * lv).exp() * eps, "mu is missing"),
    (lambda mu, lv, eps: (mu + (0.5 * lv).exp() * eps).detach(), "no gradient"),
    (lambda mu, lv, eps: torch.normal(mu.detach(), (0.5 * lv.detach()).exp()), "use the eps given"),
    (lambda mu, lv, eps: mu + (0.5 * lv).exp().detach() * eps, "does not reach logvar"),
])
def test_reparameterize_check_names_mistake(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_reparameterize(fn)


@pytest.mark.parametrize("fn, phrase", [
    (lambda lg, x, mu, lv, b: _nelbo(lg, x, mu, lv, b, "mean"), "averaged over pixels"),
    (lambda lg, x, mu, lv, b: F.binary_cross_entropy_with_logits(lg, x) + b * _kl_normal(mu, lv).mean(), "averaged over pixels"),
    (lambda lg, x, mu, lv, b: 2 * _nelbo(lg, x, mu, lv, b), "summed over the batch"),
    (lambda lg, x, mu, lv, b: _nelbo(lg, x, mu, lv, 1.0), "beta is ignored"),
    (lambda lg, x, mu, lv, b: _nelbo(lg, x, mu, lv, -b), "sign error on the KL"),
    (lambda lg, x, mu, lv, b: _nelbo(lg, x, mu, lv, 0.0), "KL term is missing"),
    (lambda lg, x, mu, lv, b: b * _kl_normal(mu, lv).mean(), "reconstruction term is missing"),
    (lambda lg, x, mu, lv, b: _nelbo(lg.sigmoid(), x, mu, lv, b), "sigmoid applied"),
    (lambda lg, x, mu, lv, b: _nelbo(x, lg, mu, lv, b), "swapped"),
    (lambda lg, x, mu, lv, b: _nelbo(lg, x, mu, lv, b).reshape(1, 1).expand(2, 2), "one number"),
])
def test_negative_elbo_check_names_mistake(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_negative_elbo(fn)
