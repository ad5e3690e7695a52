"""gan_tutor.gan_step: the D and G steps of notebook 02 against closed forms and oracles, and the EMA update."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gan_tutor import gan_step


def test_d_step_detaches_and_matches_bce_oracle():
    torch.manual_seed(0)
    G, D = torch.nn.Linear(3, 2), torch.nn.Linear(2, 1)
    opt_D = torch.optim.SGD(D.parameters(), lr=0.1)
    real, z = torch.randn(5, 2), torch.randn(5, 3)
    with torch.no_grad():
        r, f = D(real).squeeze(1), D(G(z)).squeeze(1)
    expected = F.binary_cross_entropy_with_logits(r, torch.full_like(r, 0.9)) + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f))
    w_before, g_before = D.weight.clone(), G.weight.clone()
    Dflat = lambda x: D(x).squeeze(1)  # noqa: E731
    stats = gan_step.d_step(G, Dflat, opt_D, real, z, real_label=0.9)
    assert stats.loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert stats.d_real.item() == pytest.approx(torch.sigmoid(r).mean().item(), rel=1e-6)
    assert G.weight.grad is None and torch.equal(G.weight, g_before)
    assert not torch.equal(D.weight, w_before)


def test_g_step_moves_only_g_and_uses_nonsaturating_loss():
    torch.manual_seed(0)
    G, D = torch.nn.Linear(3, 2), torch.nn.Linear(2, 1)
    opt_G = torch.optim.SGD(G.parameters(), lr=0.1)
    z = torch.randn(5, 3)
    with torch.no_grad():
        f = D(G(z)).squeeze(1)
    d_before, g_before = D.weight.clone(), G.weight.clone()
    stats = gan_step.g_step(G, lambda x: D(x).squeeze(1), opt_G, z)
    assert stats.loss.item() == pytest.approx(torch.log1p(torch.exp(-f)).mean().item(), rel=1e-6)
    assert torch.equal(D.weight, d_before) and not torch.equal(G.weight, g_before)


def test_ema_update_closed_form():
    a, b = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    expected = 0.75 * a.weight.detach().clone() + 0.25 * b.weight.detach()
    gan_step.ema_update(a, b, 0.75)
    assert torch.allclose(a.weight, expected, atol=1e-7)
