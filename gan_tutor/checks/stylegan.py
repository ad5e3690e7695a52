"""Checks of notebook 06 (StyleGAN): AdaIN, modulation with demodulation, and truncation with a cutoff."""

from __future__ import annotations

import math
from typing import Callable

from .core import CheckFailed, close, diagnose, fixed_values, floats, nested, tensor

__all__ = ["check_adain", "check_modulated_weights", "check_truncate"]

TENSOR_TOL = (1e-4, 1e-4)  # float32 feature maps and kernels


def _adain_expected(x: list, y: list, groups: str, ddof: int = 0, use_sx: bool = True, use_my: bool = True) -> list[float]:
    """AdaIN of nested lists x (N, C, H, W) and y (N, C, H', W'); statistics per (n, c) for groups="nc", per n over
    (C, H, W) for "n", per c over (N, H, W) for "c"; ddof=1 for the unbiased variance."""
    n, c = len(x), len(x[0])

    def stats(t, i, j):
        if groups == "nc":
            vals = [v for row in t[i][j] for v in row]
        elif groups == "n":
            vals = [v for ch in t[i] for row in ch for v in row]
        else:
            vals = [v for s in t for row in s[j] for v in row]
        m = sum(vals) / len(vals)
        return m, math.sqrt(sum((v - m) ** 2 for v in vals) / (len(vals) - ddof))

    out = []
    for i in range(n):
        for j in range(c):
            mx, sx = stats(x, i, j)
            my, sy = stats(y, i, j)
            out += [sy * (v - mx) / (sx if use_sx else 1.0) + (my if use_my else 0.0) for row in x[i][j] for v in row]
    return out


def check_adain(fn: Callable) -> None:
    """Check ``fn(content, style)`` -> sigma(y) (x - mu(x)) / sigma(x) + mu(y), statistics per sample and channel."""
    name = "adain"
    x = nested(fixed_values(2 * 2 * 3 * 3, 0.7, 0.1), (2, 2, 3, 3))
    y = nested([2.0 + 3 * v for v in fixed_values(2 * 2 * 4 * 4, 1.3, 0.5)], (2, 2, 4, 4))
    shape_hint = "the output is the content's feature maps (its spatial size), restyled; did you swap content and style?"
    got = floats(fn(tensor(x), tensor(y)), name, (2, 2, 3, 3), shape_hint)
    diagnose(name, got, _adain_expected(x, y, "nc"), [
        (_adain_expected(x, y, "n"), "statistics over the channels too (dims 1, 2, 3, like layer norm); AdaIN takes them "
                                     "per sample and per channel, over the spatial positions only: dim=(2, 3)"),
        (_adain_expected(x, y, "c"), "statistics over the batch (dims 0, 2, 3, like batch norm); AdaIN takes them per "
                                     "sample: dim=(2, 3), keepdim=True"),
        (_adain_expected(x, y, "nc", ddof=1), "unbiased standard deviations (torch.std's default divides by H W - 1); "
                                              "instance normalisation uses the biased one: unbiased=False"),
        (_adain_expected(x, y, "nc", use_my=False), "the style's mean mu(y) is missing: + mu(y) at the end"),
        (_adain_expected(x, y, "nc", use_sx=False), "the content is not divided by its own sigma(x)"),
    ], what="expected sigma(y) and mu(y), the style's statistics, applied to the content normalised by its own, all "
             "taken over (H, W) per sample and channel with the biased std",
        tol=TENSOR_TOL, mistake_tol=TENSOR_TOL)
    scaled = floats(fn(3.0 * tensor(x) - 5.0, tensor(y)), name, (2, 2, 3, 3), shape_hint)
    if not close(scaled, got, 1e-3, 1e-3):
        raise CheckFailed(f"{name}: AdaIN(3x - 5, y) should equal AdaIN(x, y): normalising the content removes any "
                          "positive scale and shift")
    print(f"✓ {name}: per-sample, per-channel statistics over (H, W), biased std; content scale and shift ignored")


def _modulated_expected(weight: list, styles: list, demod_dims: str, sqrt: bool = True) -> list[float]:
    """w'_{n,o,i,k} = s_{n,i} w_{o,i,k}; then each element divided by the root of the sum of the squares of all the
    elements of its sample that share its indices outside ``demod_dims`` (a subset of "oik": "ik" is demodulation,
    "" none at all)."""
    n_out, n_in = len(weight), len(weight[0])
    out = []
    for s in styles:
        mod = {(o, i, k): s[i] * v for o in range(n_out) for i in range(n_in)
               for k, v in enumerate(x for row in weight[o][i] for x in row)}
        for (o, i, k), v in mod.items():
            if not demod_dims:
                out.append(v)
                continue
            fixed = {"o": o, "i": i, "k": k}
            sq = sum(u * u for key, u in mod.items() if all(key["oik".index(d)] == fixed[d] for d in "oik" if d not in demod_dims))
            out.append(v / (math.sqrt(sq + 1e-8) if sqrt else sq + 1e-8))
    return out


def check_modulated_weights(fn: Callable) -> None:
    """Check ``fn(weight, styles)`` -> (N, out, in, k, k): w' = s_i w_oik, demodulated per sample and output map."""
    name = "modulated_weights"
    weight = nested(fixed_values(2 * 3 * 2 * 2, 0.9, 0.3), (2, 3, 2, 2))  # (out=2, in=3, 2, 2): out != in on purpose
    styles = [[1.5, -0.4, 0.8], [0.3, 2.0, -1.1]]
    shape_hint = "one kernel per sample, (N, out, in, k, k): weight.unsqueeze(0) * styles[:, None, :, None, None]"
    got = floats(fn(tensor(weight), tensor(styles)), name, (2, 2, 3, 2, 2), shape_hint)
    diagnose(name, got, _modulated_expected(weight, styles, "ik"), [
        (_modulated_expected(weight, styles, ""), "not demodulated: divide each output map's kernel by "
                                                  "sqrt(sum over inputs and taps of w'^2 + eps)"),
        (_modulated_expected(weight, styles, "ok"), "demodulated over the output channels (dim 1); each output map o is "
                                                    "normalised over its own inputs and taps: dim=(2, 3, 4)"),
        (_modulated_expected(weight, styles, "oik"), "demodulated over the whole kernel at once (dims 1-4); each output "
                                                     "map is normalised on its own: dim=(2, 3, 4)"),
        (_modulated_expected(weight, styles, "i"), "summed over the input channels only; the kernel taps belong in the "
                                                   "sum too: dim=(2, 3, 4)"),
        (_modulated_expected(weight, styles, "ik", sqrt=False), "divided by the sum of squares; divide by its square "
                                                                "root (torch.rsqrt)"),
    ], what="expected each sample's kernel scaled by its styles along the input channels, then brought to unit norm "
             "for each output map",
        tol=TENSOR_TOL, mistake_tol=TENSOR_TOL)
    big = floats(fn(tensor(weight), 10.0 * tensor(styles)), name, (2, 2, 3, 2, 2), shape_hint)
    if not close(big, got, 1e-3, 1e-3):
        raise CheckFailed(f"{name}: scaling a sample's style by 10 should not change its demodulated kernel")
    print(f"✓ {name}: styles scale the input channels; every output map's kernel has unit norm; style scale ignored")


def _truncated(w: list, w_avg: list, psi: float, slots) -> list[float]:
    return [a + psi * (v - a) if j in slots else v for sample in w for j, slot in enumerate(sample) for v, a in zip(slot, w_avg)]


def check_truncate(fn: Callable) -> None:
    """Check ``fn(w, w_avg, psi, cutoff)``: w_avg + psi (w - w_avg) on slots before ``cutoff`` (all when None)."""
    name = "truncate"
    w = nested(fixed_values(2 * 5 * 3, 1.1, 0.2), (2, 5, 3))  # (N=2, 5 slots, w_dim=3)
    w_avg = [0.5, -0.25, 1.0]
    psi, cutoff = 0.7, 2

    def call(p, c):
        return floats(fn(tensor(w), tensor(w_avg), p, c), name, (2, 5, 3), "keep the shape of w, (N, n_slots, w_dim)")

    got = call(psi, cutoff)
    diagnose(name, got, _truncated(w, w_avg, psi, range(cutoff)), [
        (_truncated(w, w_avg, psi, range(5)), "every slot was truncated; only the slots before the cutoff (the coarse "
                                              "styles) are, the rest keep their own w"),
        (_truncated(w, w_avg, psi, range(cutoff, 5)), "the slots from the cutoff on were truncated; it is the ones before "
                                                      "it (the coarse resolutions)"),
        (_truncated(w, w_avg, psi, range(cutoff + 1)), "off by one: slot index cutoff itself keeps its own w (slots "
                                                       "0 .. cutoff - 1 are truncated)"),
        (_truncated(w, w_avg, 1 - psi, range(cutoff)), "psi and 1 - psi swapped: w_avg + psi (w - w_avg), so psi = 1 "
                                                       "leaves w unchanged"),
        ([v * psi if j < cutoff else v for sample in w for j, slot in enumerate(sample) for v in slot],
         "scaled w towards zero; truncation pulls it towards the average w_avg: w_avg + psi (w - w_avg)"),
    ], what="expected the slots before the cutoff pulled towards w_avg by the factor psi, and the others unchanged",
        tol=TENSOR_TOL, mistake_tol=TENSOR_TOL)
    if not close(call(psi, None), _truncated(w, w_avg, psi, range(5)), *TENSOR_TOL):
        raise CheckFailed(f"{name}: cutoff=None means no cutoff: truncate every slot")
    if not close(call(1.0, cutoff), w, *TENSOR_TOL):
        raise CheckFailed(f"{name}: psi = 1 should leave w unchanged")
    print(f"✓ {name}: slots before the cutoff pulled towards w_avg by psi; the rest, and psi = 1, unchanged")
