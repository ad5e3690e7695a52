r"""The GAN training step of notebook 02: one discriminator update, one generator update, and what goes with them.

Goodfellow et al. (2014), "Generative Adversarial Nets", arXiv:1406.2661, Algorithm 1, with the
non-saturating generator loss of their section 3:

.. math::
    \text{D step: } \min_D\; -\mathbb{E}_x[\log D(x)] - \mathbb{E}_z[\log(1 - D(G(z)))] \quad
    \text{(fakes detached)}

    \text{G step: } \min_G\; -\mathbb{E}_z[\log D(G(z))]

Notebook 02 writes both steps out (its exercises are checked against these); every adversarial model of the
course trains through them (``gan_tutor.train.fit_gan``). With them: R1 and path-length steps for lazy
regularisation (Karras et al. 2020), an EMA of G's weights (Karras et al. 2018, arXiv:1710.10196; Yazici et
al. 2019, arXiv:1806.04498), and :func:`snapshot`, G's output for a fixed batch in [0, 1]. The losses
themselves are notebook 01's (``gan_tutor.gan_math``).
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterable, NamedTuple

import torch
from torch import nn

from gan_tutor.gan_math import d_hinge_loss, d_logistic_loss, g_hinge_loss, g_nonsaturating_loss, g_saturating_loss, r1_penalty
from gan_tutor.images import check_labels, to_unit_range



class StepStats(NamedTuple):
    """Detached scalars of one D or G step: the loss, and the mean D(x) and D(G(z)) it saw."""

    loss: torch.Tensor
    d_real: torch.Tensor | None
    d_fake: torch.Tensor


def _call(net: nn.Module, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
    return net(x) if y is None else net(x, y)


LOSSES = ("logistic", "hinge")


def check_loss(loss: str) -> None:
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}: use one of {', '.join(LOSSES)}.")


def d_step(G, D, opt_D, real, z, real_label: float = 1.0, y_real=None, y_fake=None, amp=contextlib.nullcontext,
           loss: str = "logistic", augment: Callable[[torch.Tensor], torch.Tensor] | None = None) -> StepStats:
    """One discriminator update on a real batch and G(z); the fakes are detached so G gets no gradient.

    real: (B, *x_shape), z: (B, z_dim); y_real / y_fake: (B,) labels for conditional models.
    ``real_label`` < 1 is one-sided label smoothing (Salimans et al. 2016, arXiv:1606.03498);
    ``loss="hinge"`` uses ``gan_math.d_hinge_loss`` instead of the logistic loss; ``augment`` (DiffAugment,
    ``gan_tutor.augment``) transforms real and fake images alike before D sees them.
    """
    check_loss(loss)
    opt_D.zero_grad(set_to_none=True)
    with amp():
        with torch.no_grad():  # as .detach(), and skips building G's graph at all
            fake = _call(G, z, y_fake)
        if augment is not None:
            real, fake = augment(real), augment(fake)
        real_logits = _call(D, real, y_real).float()
        fake_logits = _call(D, fake, y_fake).float()
    value = d_hinge_loss(real_logits, fake_logits) if loss == "hinge" else d_logistic_loss(real_logits, fake_logits, real_label)
    value.backward()
    opt_D.step()
    return StepStats(value.detach(), torch.sigmoid(real_logits.detach()).mean(), torch.sigmoid(fake_logits.detach()).mean())


def g_step(G, D, opt_G, z, y_fake=None, saturating: bool = False, amp=contextlib.nullcontext,
           loss: str = "logistic", augment: Callable[[torch.Tensor], torch.Tensor] | None = None) -> StepStats:
    """One generator update through D: non-saturating -log D(G(z)) (or the minimax log(1 - D(G(z)))).

    Only ``opt_G`` steps: D's parameters receive gradients here (they are zeroed by the next D step)
    but do not change.
    """
    opt_G.zero_grad(set_to_none=True)
    with amp():
        fake = _call(G, z, y_fake)
        fake_logits = _call(D, fake if augment is None else augment(fake), y_fake).float()
    check_loss(loss)
    if loss == "hinge":
        value = g_hinge_loss(fake_logits)
    else:
        value = g_saturating_loss(fake_logits) if saturating else g_nonsaturating_loss(fake_logits)
    value.backward()
    opt_G.step()
    return StepStats(value.detach(), None, torch.sigmoid(fake_logits.detach()).mean())


def r1_step(D, opt_D, real, gamma: float, y_real=None) -> torch.Tensor:
    """One discriminator update on gamma / 2 * R1 alone (``gan_math.r1_penalty``), in full precision; returns
    the penalty. Lazy regularisation (Karras et al. 2020, section 3.1) calls it every k steps with gamma * k."""
    opt_D.zero_grad(set_to_none=True)
    real = real.detach().requires_grad_(True)
    penalty = r1_penalty(_call(D, real, y_real).float(), real)
    (0.5 * gamma * penalty).backward()
    opt_D.step()
    return penalty.detach()


def pl_step(G, opt_G, z, weight: float, y=None) -> torch.Tensor:
    """One generator update on ``weight`` times G's path-length penalty alone (``G.path_length_penalty(z, y)``,
    e.g. :meth:`gan_tutor.stylegan.Generator.path_length_penalty`), in full precision; returns the penalty."""
    opt_G.zero_grad(set_to_none=True)
    penalty = G.path_length_penalty(z, y)
    (weight * penalty).backward()
    opt_G.step()
    return penalty.detach()


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """theta_ema <- decay * theta_ema + (1 - decay) * theta; buffers (e.g. batch-norm statistics) copied."""
    for p_ema, p in zip(ema.parameters(), model.parameters()):
        p_ema.lerp_(p, 1.0 - decay)
    for b_ema, b in zip(ema.buffers(), model.buffers()):
        b_ema.copy_(b)


@torch.no_grad()
def recompute_batchnorm(G: nn.Module, inputs: Iterable[tuple[torch.Tensor, ...]]) -> int:
    """Standing statistics: re-estimate every batch-norm layer's running mean and variance for G's *own* weights.

    :func:`ema_update` copies the raw generator's statistics into the EMA generator, whose averaged weights
    produce other activations; here each batch-norm layer forgets its statistics and takes the plain average
    over the batches ``inputs`` (G's arguments, e.g. ``(z,)`` or ``(z, y)``) run in training mode, as BigGAN
    does at sampling time (Brock et al. 2019, arXiv:1809.11096, appendix C, "standing statistics"). The
    weights are untouched, and G's mode and the layers' momentum are restored. Returns the number of batches
    used; a G without batch norm is left as it was (0).
    """
    layers = [m for m in G.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]
    if not layers:
        return 0
    was_training, momenta = G.training, [m.momentum for m in layers]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # None: a cumulative average over the batches seen
    G.train()
    n = 0
    try:
        for args in inputs:
            G(*args)
            n += 1
    finally:
        for m, momentum in zip(layers, momenta):
            m.momentum = momentum
        G.train(was_training)
    if n == 0:
        raise ValueError("recompute_batchnorm needs at least one batch of inputs; the statistics were reset.")
    return n


def generator_inputs(G: nn.Module, cfg, n: int, g: torch.Generator, label=None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """G's arguments for ``n`` samples, as the course samples them: z ~ N(0, I) of ``cfg.z_dim`` on ``g``'s device and,
    for a conditional G, its labels (None otherwise), drawn after z from the same generator ``g``.

    Self-conditioned (``cfg.clusters`` > 0): cluster ids from their training frequencies (``G.sample_labels``).
    Conditional on classes (``cfg.n_classes`` > 0): ``label``, one class for every sample (an int) or one per sample
    (a tensor or sequence of length n); by default (None) the classes in turn, 0, 1, ..., K-1, 0, ...; "random":
    uniformly at random.
    """
    z = torch.randn(n, cfg.z_dim, generator=g, device=g.device)
    if getattr(cfg, "clusters", 0):
        return z, G.sample_labels(n, g)
    if not getattr(cfg, "n_classes", 0):
        return z, None
    if isinstance(label, str):
        if label != "random":
            raise ValueError(f"label={label!r}: give a class (an int), one per sample, None (in turn) or 'random'.")
        return z, torch.randint(cfg.n_classes, (n,), generator=g, device=g.device)
    if label is None:
        y = torch.arange(n) % cfg.n_classes
    elif isinstance(label, int) and not isinstance(label, bool):
        y = torch.full((n,), label, dtype=torch.int64)
    else:
        y = label
    return z, check_labels(y, cfg.n_classes, n).to(g.device)


def standing_statistics(G: nn.Module, cfg, batches: int = 50, batch_size: int = 64, seed: int = 0) -> int:
    """:func:`recompute_batchnorm` for a (possibly EMA) generator on ``batches`` batches of its inputs drawn as
    sampling draws them (:func:`generator_inputs`; classes of a conditional G uniformly at random), from a
    generator seeded with ``seed`` on G's device. ``batch_size`` should be the training batch size: a batch's
    statistics depend on its size. Returns the number of batches (0: G has no batch norm, nothing drawn)."""
    g = torch.Generator(device=next(G.parameters()).device).manual_seed(seed)
    draws = (generator_inputs(G, cfg, batch_size, g, "random") for _ in range(batches))  # lazy: none without batch norm
    return recompute_batchnorm(G, ((z,) if y is None else (z, y) for z, y in draws))


@torch.no_grad()
def snapshot(G: nn.Module, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
    """G's output for a fixed batch, in eval mode, on the CPU, images mapped to [0, 1]."""
    was_training = G.training
    G.eval()
    out = _call(G, z, y)
    G.train(was_training)
    return to_unit_range(out.float()).cpu()
