"""Tests of gan_tutor.checks: correct solutions pass, each common mistake is named, stubs propagate."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gan_tutor import checks
from gan_tutor.checks import CheckFailed
from gan_tutor.gan_math import d_logistic_loss, g_nonsaturating_loss, g_saturating_loss


def stub(*args, **kwargs):
    raise NotImplementedError("write this function")


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


# ---------------------------------------------------------------------------------------------------
# all checks
# ---------------------------------------------------------------------------------------------------

ALL_CHECKS = [getattr(checks, name) for name in checks.__all__ if name.startswith("check_")]


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
def test_not_implemented_propagates_unchanged(check):
    with pytest.raises(NotImplementedError, match="write this function") as info:
        check(stub)
    assert type(info.value) is NotImplementedError  # not wrapped in CheckFailed


def test_checks_never_import_the_package_solutions():
    import inspect

    imports = [line for line in inspect.getsource(checks).splitlines() if line.lstrip().startswith(("import", "from"))]
    assert imports and not any("gan_tutor" in line for line in imports)


def test_check_failed_is_an_assertion_error():
    assert issubclass(CheckFailed, AssertionError)


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


# ---------------------------------------------------------------------------------------------------- notebook 07


def _mc(f, axis=0, ddof=1, centre=True):
    x = f if axis == 0 else f.T
    c = x - x.mean(0) if centre else x
    return f.mean(0), c.T @ c / (len(x) - ddof)


def _sym_sqrt(m):
    e, v = torch.linalg.eigh(m)
    return (v * e.clamp(min=0).sqrt()) @ v.T


def _fd(m1, s1, m2, s2, cross="matrix", clamp=True, factor=2.0, mean_sq=True):
    if cross == "matrix":
        r = _sym_sqrt(s1)
        ev = torch.linalg.eigvalsh(r @ s2 @ r)
        tr = (ev.clamp(min=0) if clamp else ev).sqrt().sum()
    elif cross == "hadamard":
        tr = torch.trace((s1 * s2).clamp(min=0).sqrt())
    else:  # "roots"
        tr = torch.trace(_sym_sqrt(s1) @ _sym_sqrt(s2))
    d = (m1 - m2).pow(2).sum()
    return (d if mean_sq else d.sqrt()) + torch.trace(s1) + torch.trace(s2) - factor * tr


def _mmd(x, y, diagonal=False, pairs="m(m-1)", cross=2.0, d_scale=True):
    k = lambda a, b: (a @ b.T / (a.shape[1] if d_scale else 1) + 1) ** 3  # noqa: E731

    def within(s):
        kk = k(s, s)
        total = kk.sum() - (0 if diagonal else kk.diagonal().sum())
        return total / (len(s) * (len(s) - 1) if pairs == "m(m-1)" else len(s) ** 2)

    return within(x) + within(y) - cross * k(x, y).mean()


def test_nb07_checks_pass_correct_solutions(capsys):
    checks.check_mean_and_covariance(lambda f: (f.mean(0), torch.cov(f.T)))
    checks.check_mean_and_covariance(_mc)
    checks.check_frechet_from_stats(_fd)
    checks.check_mmd2_estimate(_mmd)
    assert capsys.readouterr().out.count("✓") == 4


@pytest.mark.parametrize("fn, phrase", [
    (lambda f: _mc(f, axis=1), "wrong axis|covariance of the"),
    (lambda f: (f.mean(1), torch.cov(f.T)), "one mean per feature"),
    (lambda f: _mc(f, ddof=0), "divided by N"),
    (lambda f: _mc(f, centre=False), "not centred"),
    (lambda f: torch.cov(f.T), "return a pair"),
])
def test_mean_and_covariance_check_names_mistake(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_mean_and_covariance(fn)


def test_mean_and_covariance_check_finds_the_wrong_axis_when_shapes_agree():
    calls = []

    def fn(f):  # right for the first input (N != D), wrong axis on the square one
        calls.append(f.shape)
        return _mc(f, axis=1) if f.shape[0] == f.shape[1] else _mc(f)

    with pytest.raises(CheckFailed, match="wrong axis"):
        checks.check_mean_and_covariance(fn)
    assert calls == [(5, 3), (4, 4)]


@pytest.mark.parametrize("fn, phrase", [
    (lambda *a: _fd(*a, cross="hadamard"), "element by element"),
    (lambda *a: _fd(*a, cross="roots"), "commute"),
    (lambda *a: _fd(*a, factor=1.0), "factor 2"),
    (lambda *a: _fd(*a, mean_sq=False), "squared distance"),
    (lambda *a: _fd(*a) + 0.5, "expected"),
])
def test_frechet_check_names_mistake(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_frechet_from_stats(fn)


def test_frechet_check_names_the_singular_case():
    def no_clip(m1, s1, m2, s2):  # NaN from the square root of a slightly negative eigenvalue
        return torch.tensor(float("nan")) if torch.linalg.matrix_rank(s1) < len(s1) else _fd(m1, s1, m2, s2)

    with pytest.raises(CheckFailed, match="singular covariance.*clamp"):
        checks.check_frechet_from_stats(no_clip)


@pytest.mark.parametrize("fn, phrase", [
    (lambda x, y: _mmd(x, y, diagonal=True, pairs="m^2"), "biased"),
    (lambda x, y: _mmd(x, y, diagonal=True), "still in the sums"),
    (lambda x, y: _mmd(x, y, pairs="m^2"), "m \\(m - 1\\) pairs"),
    (lambda x, y: _mmd(x, y, cross=1.0), "counts twice"),
    (lambda x, y: _mmd(x, y, d_scale=False), "dimension d"),
    (lambda x, y: _mmd(x, y) if len(x) != len(y) else torch.tensor(0.0), "same"),
])
def test_mmd2_check_names_mistake(fn, phrase):
    with pytest.raises(CheckFailed, match=phrase):
        checks.check_mmd2_estimate(fn)


@pytest.mark.parametrize("check", [checks.check_mean_and_covariance, checks.check_frechet_from_stats, checks.check_mmd2_estimate])
def test_nb07_checks_let_stubs_propagate(check):
    with pytest.raises(NotImplementedError):
        check(stub)
