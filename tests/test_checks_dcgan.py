"""Tests of gan_tutor.checks.dcgan (notebook 03, DCGAN): correct solutions pass, each common mistake is
named."""

from __future__ import annotations

import pytest
import torch

from gan_tutor import checks
from gan_tutor.checks import CheckFailed


# ---------------------------------------------------------------------------------------------------
# notebook 03: transposed-convolution size, EMA update, slerp
# ---------------------------------------------------------------------------------------------------


def test_transposed_conv_size_check(capsys):
    checks.check_transposed_conv_size(lambda n, k, s, p: (n - 1) * s - 2 * p + k)
    assert capsys.readouterr().out.startswith("✓")


@pytest.mark.parametrize("fn, phrase", [
    (lambda n, k, s, p: n * s - 2 * p + k, "n - 1 strides"),
    (lambda n, k, s, p: (n - 1) * s - p + k, "both sides"),
    (lambda n, k, s, p: (n - 1) * s + 2 * p + k, "crops"),
    (lambda n, k, s, p: (n + 2 * p - k) // s + 1, "convolution's formula"),
    (lambda n, k, s, p: (n - 1) * s + k, "ignored the padding"),
    (lambda n, k, s, p: (n - 1) * s - 2 * p + k + 0.0, "whole number"),
])
def test_transposed_conv_size_check_names_mistake(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_transposed_conv_size(fn)


@torch.no_grad()
def ema_correct(ema, model, decay):
    for pe, p in zip(ema.parameters(), model.parameters()):
        pe.mul_(decay).add_(p, alpha=1 - decay)
    for be, b in zip(ema.buffers(), model.buffers()):
        be.copy_(b)


@torch.no_grad()
def ema_swapped(ema, model, decay):
    for pe, p in zip(ema.parameters(), model.parameters()):
        pe.mul_(1 - decay).add_(p, alpha=decay)
    for be, b in zip(ema.buffers(), model.buffers()):
        be.copy_(b)


@torch.no_grad()
def ema_no_buffers(ema, model, decay):
    for pe, p in zip(ema.parameters(), model.parameters()):
        pe.lerp_(p, 1 - decay)


def ema_no_grad_guard(ema, model, decay):
    for pe, p in zip(ema.parameters(), model.parameters()):
        pe.mul_(decay).add_(p, alpha=1 - decay)


@torch.no_grad()
def ema_moves_model(ema, model, decay):
    for pe, p in zip(ema.parameters(), model.parameters()):
        p.lerp_(pe, 1 - decay)
        pe.copy_(p)


def ema_rebinds(ema, model, decay):
    for (n, pe), p in zip(list(ema.named_parameters()), model.parameters()):
        mod, attr = n.rsplit(".", 1)
        setattr(ema.get_submodule(mod), attr, torch.nn.Parameter(decay * pe.detach() + (1 - decay) * p.detach()))
    for be, b in zip(ema.buffers(), model.buffers()):
        be.copy_(b)


def test_ema_update_check(capsys):
    checks.check_ema_update(ema_correct)
    assert capsys.readouterr().out.startswith("✓")


@pytest.mark.parametrize("fn, phrase", [
    (ema_swapped, "swapped"),
    (ema_no_buffers, "running statistics"),
    (ema_no_grad_guard, "torch.no_grad"),
    (ema_moves_model, "model's own weights changed"),
    (ema_rebinds, "in place"),
    (lambda ema, model, decay: None, "did not change"),
])
def test_ema_update_check_names_mistake(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_ema_update(fn)


def slerp_correct(z0, z1, t):
    cos = (z0 * z1).sum(-1, keepdim=True) / (z0.norm(dim=-1, keepdim=True) * z1.norm(dim=-1, keepdim=True))
    theta = torch.arccos(cos.clamp(-1, 1))
    s = torch.sin(theta)
    lin = (1 - t) * z0 + t * z1
    return torch.where(s.abs() < 1e-6, lin, (torch.sin((1 - t) * theta) * z0 + torch.sin(t * theta) * z1) / torch.where(s.abs() < 1e-6, 1.0, s))


def slerp_batch_angle(z0, z1, t):
    theta = torch.arccos((z0 * z1).sum() / (z0.norm() * z1.norm()))
    return (torch.sin((1 - t) * theta) * z0 + torch.sin(t * theta) * z1) / torch.sin(theta)


def slerp_nan(z0, z1, t):
    theta = torch.arccos(((z0 * z1).sum(-1, keepdim=True) / (z0.norm(dim=-1, keepdim=True) * z1.norm(dim=-1, keepdim=True))).clamp(-1, 1))
    return (torch.sin((1 - t) * theta) * z0 + torch.sin(t * theta) * z1) / torch.sin(theta)


def slerp_unit_angle(z0, z1, t):  # forgets to divide the dot product by the norms
    theta = torch.arccos((z0 * z1).sum(-1, keepdim=True).clamp(-1, 1))
    return (torch.sin((1 - t) * theta) * z0 + torch.sin(t * theta) * z1) / torch.sin(theta)


def test_slerp_check(capsys):
    checks.check_slerp(slerp_correct)
    assert capsys.readouterr().out.startswith("✓")


@pytest.mark.parametrize("fn, phrase", [
    (lambda z0, z1, t: (1 - t) * z0 + t * z1, "linear interpolation"),
    (lambda z0, z1, t: slerp_correct(z1, z0, t), "swapped"),
    (slerp_unit_angle, "different norms"),
    (slerp_batch_angle, "each row pair"),
    (slerp_nan, "parallel"),
    (lambda z0, z1, t: slerp_correct(z0, z1, t)[..., :2], "shape"),
])
def test_slerp_check_names_mistake(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_slerp(fn)
