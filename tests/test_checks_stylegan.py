"""Tests of gan_tutor.checks.stylegan (notebook 06, StyleGAN): correct solutions pass, each common mistake is
named, stubs propagate."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gan_tutor import checks
from gan_tutor.checks import CheckFailed


def stub(*args, **kwargs):
    raise NotImplementedError("write this function")


# Notebook 06: written here with torch primitives, independently of gan_tutor.stylegan


def _adain(x, y, dims=(2, 3), unbiased=False, mean_y=True, divide=True):
    mx, sx = x.mean(dims, keepdim=True), (x.var(dims, keepdim=True, unbiased=unbiased) + 1e-5).sqrt()
    my, sy = y.mean(dims, keepdim=True), (y.var(dims, keepdim=True, unbiased=unbiased) + 1e-5).sqrt()
    return sy * (x - mx) / (sx if divide else 1) + (my if mean_y else 0)


def _modw(w, s, dims=(2, 3, 4), root=True, demod=True):
    m = w.unsqueeze(0) * s[:, None, :, None, None]
    if not demod:
        return m
    sq = m.pow(2).sum(dims, keepdim=True) + 1e-8
    return m / (sq.sqrt() if root else sq)


def _trunc(w, w_avg, psi, cutoff, slots=None):
    out = w.clone()
    chosen = slice(None) if cutoff is None else slice(0, cutoff) if slots is None else slots
    out[:, chosen] = w_avg + psi * (w[:, chosen] - w_avg)
    return out


def test_nb06_checks_pass_correct(capsys):
    checks.check_adain(_adain)
    checks.check_adain(lambda x, y: F.instance_norm(x) * y.std((2, 3), unbiased=False, keepdim=True) + y.mean((2, 3), keepdim=True))
    checks.check_modulated_weights(_modw)
    checks.check_modulated_weights(lambda w, s: _modw(w, s) * 1.0)
    checks.check_truncate(_trunc)
    assert capsys.readouterr().out.count("✓") == 5


@pytest.mark.parametrize("fn, phrase", [
    (lambda x, y: _adain(x, y, (1, 2, 3)), "channels too"),
    (lambda x, y: _adain(x, y, (0, 2, 3)), "over the batch"),
    (lambda x, y: _adain(x, y, unbiased=True), "unbiased"),
    (lambda x, y: _adain(x, y, mean_y=False), "mu\\(y\\) is missing"),
    (lambda x, y: _adain(x, y, divide=False), "not divided"),
    (lambda x, y: _adain(y, x), "swap"),
    (lambda x, y: _adain(x, y) + 0.1 * x, "expected sigma"),
])
def test_adain_check_names_mistake(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_adain(fn)


@pytest.mark.parametrize("fn, phrase", [
    (lambda w, s: _modw(w, s, demod=False), "not demodulated"),
    (lambda w, s: _modw(w, s, (1, 3, 4)), "over the output channels"),
    (lambda w, s: _modw(w, s, (1, 2, 3, 4)), "whole kernel"),
    (lambda w, s: _modw(w, s, (2,)), "input channels only"),
    (lambda w, s: _modw(w, s, root=False), "square root"),
    (lambda w, s: _modw(w, s)[0], "one kernel per sample"),
])
def test_modulated_weights_check_names_mistake(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_modulated_weights(fn)


@pytest.mark.parametrize("fn, phrase", [
    (lambda w, a, p, c: _trunc(w, a, p, None), "every slot"),
    (lambda w, a, p, c: _trunc(w, a, p, c, slots=slice(c, None)), "from the cutoff on"),
    (lambda w, a, p, c: _trunc(w, a, p, c, slots=slice(0, c + 1)), "off by one"),
    (lambda w, a, p, c: _trunc(w, a, 1 - p, c), "swapped"),
    (lambda w, a, p, c: _trunc(w, torch.zeros_like(a), p, c), "towards zero"),
    (lambda w, a, p, c: _trunc(w, a, p, c if c is not None else 1), "cutoff=None"),
    (lambda w, a, p, c: _trunc(w, a, p, c)[:, 0], "keep the shape"),
])
def test_truncate_check_names_mistake(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_truncate(fn)


@pytest.mark.parametrize("check", [checks.check_adain, checks.check_modulated_weights, checks.check_truncate])
def test_nb06_checks_let_stubs_propagate(check):
    with pytest.raises(NotImplementedError):
        check(stub)
