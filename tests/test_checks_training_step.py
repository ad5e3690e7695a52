"""Tests of gan_tutor.checks.training_step (notebook 02, the training step): correct solutions pass, each common mistake is
named."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gan_tutor import checks
from gan_tutor.checks import CheckFailed
from gan_tutor.gan_math import d_logistic_loss, g_nonsaturating_loss, g_saturating_loss


# ---------------------------------------------------------------------------------------------------
# d_step and g_step
# ---------------------------------------------------------------------------------------------------


def make_d_step(detach=True, zero_grad=True, loss_fn=d_logistic_loss, ret="item"):
    def d_step(G, D, opt_D, real, z):
        if zero_grad:
            opt_D.zero_grad(set_to_none=True)
        fake = G(z).detach() if detach else G(z)
        loss = loss_fn(D(real), D(fake))
        loss.backward()
        opt_D.step()
        return {"item": loss.item(), "tensor": loss, "none": None}[ret]

    return d_step


def swapped_labels(r, f):
    return F.softplus(r).mean() + F.softplus(-f).mean()


def fakes_as_real(r, f):
    return F.softplus(-r).mean() + F.softplus(-f).mean()


D_STEP_MISTAKES = [
    (make_d_step(detach=False), "the generator received gradients during the discriminator step: did you detach"),
    (make_d_step(zero_grad=False), r"stale gradients: call opt_D.zero_grad\(\)"),
    (make_d_step(loss_fn=lambda r, f: -d_logistic_loss(r, f)), "sign error"),
    (make_d_step(loss_fn=swapped_labels), "swapped labels"),
    (make_d_step(loss_fn=fakes_as_real), "labelled the fakes as real"),
    (make_d_step(loss_fn=lambda r, f: F.softplus(-r).sum() + F.softplus(f).sum()), "sum instead of mean"),
    (make_d_step(loss_fn=lambda r, f: F.softplus(-r).mean()), "left out the fake term"),
    (make_d_step(ret="tensor"), r"return loss.item\(\)"),
    (make_d_step(ret="none"), "returned NoneType"),
    (make_d_step(loss_fn=lambda r, f: 0.5 * d_logistic_loss(r, f)), r"D's parameters \[weight, bias\] after one SGD step"),
]


def test_d_step_check_passes_correct(capsys):
    rng_before = torch.random.get_rng_state()
    checks.check_d_step(make_d_step())
    assert capsys.readouterr().out.startswith("✓ d_step:")
    assert torch.equal(torch.random.get_rng_state(), rng_before)  # the learner's RNG stream is untouched


def test_d_step_check_passes_no_grad_variant(capsys):
    def d_step(G, D, opt_D, real, z):
        opt_D.zero_grad()
        with torch.no_grad():
            fake = G(z)
        loss = F.binary_cross_entropy_with_logits(D(real), torch.ones(len(real), 1)) + \
            F.binary_cross_entropy_with_logits(D(fake), torch.zeros(len(fake), 1))
        loss.backward()
        opt_D.step()
        return loss.item()

    checks.check_d_step(d_step)
    assert "✓" in capsys.readouterr().out


def test_d_step_check_names_generator_that_moves():
    def d_step(G, D, opt_D, real, z):
        with torch.no_grad():
            G.weight.add_(0.01)
        return make_d_step()(G, D, opt_D, real, z)

    with pytest.raises(CheckFailed, match="the generator's weights changed during the discriminator step"):
        checks.check_d_step(d_step)


@pytest.mark.parametrize("fn,phrase", D_STEP_MISTAKES)
def test_d_step_check_names_mistake(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_d_step(fn)


def make_g_step(zero_grad=True, loss_fn=g_nonsaturating_loss, detach=False, ret="item"):
    def g_step(G, D, opt_G, z):
        if zero_grad:
            opt_G.zero_grad(set_to_none=True)
        fake = G(z).detach() if detach else G(z)
        loss = loss_fn(D(fake))
        loss.backward()
        opt_G.step()
        return {"item": loss.item(), "tensor": loss}[ret]

    return g_step


def g_step_moves_d(G, D, opt_G, z):
    loss = make_g_step()(G, D, opt_G, z)
    with torch.no_grad():  # as an extra optimiser over D's parameters would
        for p in D.parameters():
            p.sub_(0.1 * p.grad)
    return loss


G_STEP_MISTAKES = [
    (g_step_moves_d, "the discriminator's weights changed during the generator step: step only opt_G"),
    (make_g_step(loss_fn=g_saturating_loss), "saturating loss"),
    (make_g_step(zero_grad=False), r"stale gradients: call opt_G.zero_grad\(\)"),
    (make_g_step(detach=True), "do not detach G\\(z\\)"),
    (make_g_step(loss_fn=lambda f: -g_nonsaturating_loss(f)), "sign error"),
    (make_g_step(loss_fn=lambda f: F.softplus(f).mean()), "used the fake target 0"),
    (make_g_step(loss_fn=lambda f: F.softplus(-f).sum()), "sum instead of mean"),
    (make_g_step(ret="tensor"), r"return loss.item\(\)"),
]


def test_g_step_check_passes_correct(capsys):
    checks.check_g_step(make_g_step())
    assert capsys.readouterr().out.startswith("✓ g_step:")


@pytest.mark.parametrize("fn,phrase", G_STEP_MISTAKES)
def test_g_step_check_names_mistake(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_g_step(fn)


# ---------------------------------------------------------------------------------------------------
# one-sided label smoothing
# ---------------------------------------------------------------------------------------------------


def smoothed(real_target, fake_target):
    def fn(r, f, real_label=0.9):
        y_r = real_target(real_label)
        y_f = fake_target(real_label)
        return F.binary_cross_entropy_with_logits(r, torch.full_like(r, y_r)) + \
            F.binary_cross_entropy_with_logits(f, torch.full_like(f, y_f))

    return fn


SMOOTH_MISTAKES = [
    (smoothed(lambda a: a, lambda a: 1 - a), r"smoothed the fake labels too \(two-sided\)"),
    (smoothed(lambda a: 1.0, lambda a: 0.0), "ignored real_label: the real targets must be real_label, not 1"),
    (smoothed(lambda a: 0.9, lambda a: 0.0), "ignored real_label: used 0.9 whatever"),
    (smoothed(lambda a: 1 - a, lambda a: 0.0), "used 1 - real_label for real"),
    (lambda r, f, real_label=0.9: -smoothed(lambda a: a, lambda a: 0.0)(r, f, real_label), "sign error"),
    (lambda r, f, real_label=0.9: -real_label * torch.log(torch.sigmoid(r)).mean()
     - (1 - real_label) * torch.log(1 - torch.sigmoid(r)).mean() - torch.log(1 - torch.sigmoid(f)).mean(),
     "non-finite"),
]


def test_d_loss_smoothed_check_passes_correct(capsys):
    checks.check_d_loss_smoothed(smoothed(lambda a: a, lambda a: 0.0))
    checks.check_d_loss_smoothed(lambda r, f, real_label=0.9: d_logistic_loss(r, f, real_label))
    out = capsys.readouterr().out
    assert out.startswith("✓ d_loss_smoothed:") and out.count("✓") == 2


@pytest.mark.parametrize("fn,phrase", SMOOTH_MISTAKES)
def test_d_loss_smoothed_check_names_mistake(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_d_loss_smoothed(fn)
