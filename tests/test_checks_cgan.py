"""Tests of gan_tutor.checks.cgan (notebook 04, conditional GAN): correct solutions pass, each common mistake is
named."""

from __future__ import annotations

import pytest
import torch.nn.functional as F

from gan_tutor import checks
from gan_tutor.checks import CheckFailed
from gan_tutor.gan_math import d_logistic_loss


# ---------------------------------------------------------------------------------------------------
# notebook 04: one-hot label maps, projection logits, AC-GAN's D loss
# ---------------------------------------------------------------------------------------------------


def maps_correct(y, k, size):
    return F.one_hot(y, k).float()[:, :, None, None].expand(-1, -1, size, size)


@pytest.mark.parametrize("fn, phrase", [
    (lambda y, k, s: maps_correct(y, k, s).permute(0, 2, 3, 1), "channels last"),
    (lambda y, k, s: maps_correct(y[:1].expand(len(y)), k, s), "label is ignored"),
    (lambda y, k, s: maps_correct((y + 1) % k, k, s), "off by one"),
    (lambda y, k, s: 1 - maps_correct(y, k, s), "inverted"),
    (lambda y, k, s: F.one_hot(y, k)[:, :, None, None].expand(-1, -1, s, s), "floats"),
    (lambda y, k, s: maps_correct(y, k + 1, s), "expected shape"),
])
def test_one_hot_maps_check_names_mistake(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_one_hot_maps(fn)


def test_nb04_checks_pass_correct(capsys):
    checks.check_one_hot_maps(maps_correct)
    checks.check_projection_logits(lambda psi, phi, V, y: psi + (V[y] * phi).sum(1))
    checks.check_acgan_d_loss(lambda r, f, rc, fc, yr, yf: d_logistic_loss(r, f) + F.cross_entropy(rc, yr) + F.cross_entropy(fc, yf))
    assert capsys.readouterr().out.count("✓") == 3


@pytest.mark.parametrize("fn, phrase", [
    (lambda psi, phi, V, y: phi @ V.T, "every class"),
    (lambda psi, phi, V, y: (psi + (V[y] * phi).sum(1)).sum(), "one number"),
    (lambda psi, phi, V, y: (V[y] * phi).sum(1), "unconditional term"),
    (lambda psi, phi, V, y: psi.clone(), "ignores the label"),
    (lambda psi, phi, V, y: psi * (V[y] * phi).sum(1), "multiplied"),
    (lambda psi, phi, V, y: psi + (V[: len(y)] * phi).sum(1), r"V\[y\[i\]\]"),
])
def test_projection_logits_check_names_mistake(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_projection_logits(fn)


@pytest.mark.parametrize("fn, phrase", [
    (lambda r, f, rc, fc, yr, yf: d_logistic_loss(r, f) + F.cross_entropy(rc, yr), "on the fakes is missing"),
    (lambda r, f, rc, fc, yr, yf: d_logistic_loss(r, f) + F.cross_entropy(fc, yf), "real images is missing"),
    (lambda r, f, rc, fc, yr, yf: F.cross_entropy(rc, yr) + F.cross_entropy(fc, yf), "adversarial"),
    (lambda r, f, rc, fc, yr, yf: d_logistic_loss(r, f), "auxiliary class loss is missing"),
    (lambda r, f, rc, fc, yr, yf: d_logistic_loss(r, f) + F.cross_entropy(rc.softmax(1), yr) + F.cross_entropy(fc.softmax(1), yf), "softmax taken twice"),
    (lambda r, f, rc, fc, yr, yf: d_logistic_loss(r, f) + F.cross_entropy(rc, yf) + F.cross_entropy(fc, yr), "swapped the labels"),
    (lambda r, f, rc, fc, yr, yf: d_logistic_loss(r, f) - F.cross_entropy(rc, yr) - F.cross_entropy(fc, yf), "sign error"),
])
def test_acgan_d_loss_check_names_mistake(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_acgan_d_loss(fn)
