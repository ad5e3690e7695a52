r"""The core shared by the checks of notebooks 01 to 07: the failure type, float64 comparison, conversion of the
learner's result, the diagnosis of a wrong value, and the small numeric helpers that several check modules use.

* :func:`close` compares numbers, flat or nested lists, or tensors, element by element in float64;
* :func:`floats` turns what the learner's function returned into float64 numbers, after checking its type and
  shape; every failure reads "<name> returned <what came back>, expected <what was asked for>: <hint>";
* :func:`diagnose` passes a value that matches the expected one; otherwise it names the known mistake whose value
  it matches, or fails saying what was expected.

Logit conventions as in ``gan_tutor.gan_math``: :math:`D(x) = \sigma(a)`, so
:math:`-\log D = \mathrm{softplus}(-a)` and :math:`-\log(1 - D) = \mathrm{softplus}(a)`.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence, Union

import torch

__all__ = [
    "CheckFailed",
    "TOL",
    "MISTAKE_TOL",
    "numbers",
    "close",
    "show",
    "floats",
    "diagnose",
    "tensor",
    "mean",
    "sigmoid",
    "softplus",
    "bce",
    "mean_bce",
    "logistic_d_loss",
    "fixed_values",
    "nested",
    "BATCH_MEAN",
    "REAL_LOGITS",
    "FAKE_LOGITS",
    "BIG_REAL",
    "BIG_FAKE",
    "verify_large_logits",
]


class CheckFailed(AssertionError):
    """An exercise check failed; the message names the likely mistake."""

    __module__ = "gan_tutor.checks"  # where the notebooks import it from, as their tracebacks name it


# (relative, absolute) tolerances: the expected value, and the looser one a known mistake's value is recognised by
TOL = (1e-5, 1e-6)
MISTAKE_TOL = (1e-4, 1e-5)

Shape = Union[tuple, list]


# ----------------------------------------------------------------------------------------------------
# Comparison in float64
# ----------------------------------------------------------------------------------------------------


def numbers(value) -> list[float]:
    """The numbers in ``value`` (a number, a tensor, or lists and tuples of them nested to any depth) as float64
    Python floats, flattened in row-major order."""
    if isinstance(value, torch.Tensor):
        return value.detach().to(torch.float64).reshape(-1).tolist()
    if isinstance(value, (list, tuple)):
        return [v for item in value for v in numbers(item)]
    return [float(value)]


def close(got, expected, rel: float = TOL[0], abs_tol: float = TOL[1]) -> bool:
    """Whether ``got`` equals ``expected`` within the tolerances, element by element in float64.

    Both may be numbers, flat or nested lists, or tensors. They match when they hold as many numbers and every pair
    is within ``max(rel * max(|g|, |e|), abs_tol)`` (``math.isclose``): an infinity matches only itself, a NaN
    nothing; ``rel = abs_tol = 0`` asks for equality.
    """
    g, e = numbers(got), numbers(expected)
    return len(g) == len(e) and all(math.isclose(a, b, rel_tol=rel, abs_tol=abs_tol) for a, b in zip(g, e))


def show(value) -> str:
    """A number as ``%.6g``; a tensor or a (nested) list as a bracketed list of those."""
    if isinstance(value, torch.Tensor):
        value = value.detach().to(torch.float64).tolist()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return f"{value:.6g}"


# ----------------------------------------------------------------------------------------------------
# The learner's result as float64 numbers
# ----------------------------------------------------------------------------------------------------


def _returned(name: str, what: str, expected: str, hint: str = "") -> CheckFailed:
    return CheckFailed(f"{name} returned {what}, expected {expected}" + (f": {hint}" if hint else ""))


def _described(value) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return type(value).__name__


def floats(value, name: str, shape: Shape = (), hint: Union[str, Sequence[str]] = "", *, finite: str | None = None):
    """The learner's result ``value`` as float64 numbers, once its type and shape are right.

    ``shape``:

    * ``()``: one number (a Python number, or a tensor holding exactly one); returns a float;
    * a tuple of sizes: a tensor of exactly that shape; returns its numbers as a flat list (row-major);
    * a list of shapes: a tuple (or list) of that many results, each converted by its own shape (and by its own
      ``hint`` when ``hint`` is a list); returns the list of their conversions.

    ``hint`` ends a failure's message: where the usual mistake lies. NaN and infinities pass through to the
    comparison, unless ``finite`` is given: then they fail, and ``finite`` ends the message (where the value must
    be finite, and why it is not).
    """
    if isinstance(shape, list):
        hints = list(hint) if isinstance(hint, (list, tuple)) else [hint] * len(shape)
        if not isinstance(value, (tuple, list)) or len(value) != len(shape):
            wanted = "two results: return a pair" if len(shape) == 2 else f"{len(shape)} results: return a tuple"
            raise _returned(name, _described(value), wanted)
        return [floats(v, name, s, h, finite=finite) for v, s, h in zip(value, shape, hints)]

    shape = tuple(shape)
    if shape == ():
        wanted = "one number (a 0-dim tensor)"
        if isinstance(value, torch.Tensor):
            if value.numel() != 1:
                raise _returned(name, _described(value), wanted, hint)
            got = numbers(value)
        else:
            try:
                got = [float(value)]
            except (TypeError, ValueError):
                raise _returned(name, _described(value), wanted, hint) from None
    else:
        if not isinstance(value, torch.Tensor):
            raise _returned(name, _described(value), f"a tensor of shape {shape}", hint)
        if tuple(value.shape) != shape:
            raise _returned(name, _described(value), f"shape {shape}", hint)
        got = numbers(value)

    if finite is not None:
        bad = next((v for v in got if not math.isfinite(v)), None)
        if bad is not None:
            raise _returned(name, f"a non-finite value ({bad})",
                            f"a finite number {finite}" if shape == () else f"finite numbers {finite}")
    return got[0] if shape == () else got


# ----------------------------------------------------------------------------------------------------
# Diagnosis: the expected value, else the known mistake it matches, else a generic failure
# ----------------------------------------------------------------------------------------------------


def diagnose(
    name: str,
    got,
    expected,
    wrong: Sequence[tuple[object, str]] = (),
    where: str = "",
    *,
    what: Union[str, Callable[[int], str], None] = None,
    tol: tuple[float, float] = TOL,
    mistake_tol: tuple[float, float] = MISTAKE_TOL,
) -> None:
    """Return if ``got`` matches ``expected`` (within ``tol``); otherwise raise :class:`CheckFailed` naming the
    first mistake of ``wrong``, (value, message) pairs, whose value ``got`` matches (within ``mistake_tol``), or,
    when none does, saying what was expected.

    Values are anything :func:`close` compares. Two ways of reporting:

    * without ``what`` (a number or a short row), each message ends with the numbers, "expected E <where>, got G";
    * with ``what`` (a tensor, a set of parameters), a named mistake stands alone, and the generic failure is
      ``what`` followed by the first element that is off ("element i should be e, got g"); ``what`` may instead
      be a function of that element's index that returns the whole description.
    """
    if close(got, expected, *tol):
        return
    where = f" {where}" if where else ""
    numbers_shown = "" if what is not None else f" (expected {show(expected)}{where}, got {show(got)})"
    for value, mistake in wrong:
        if close(got, value, *mistake_tol):
            raise CheckFailed(f"{name}: {mistake}{numbers_shown}")
    if what is None:
        raise CheckFailed(f"{name}: expected {show(expected)}{where}, got {show(got)}")
    g, e = numbers(got), numbers(expected)
    off = next((i for i, (a, b) in enumerate(zip(g, e)) if not math.isclose(a, b, rel_tol=tol[0], abs_tol=tol[1])),
               min(len(g), len(e)))
    if callable(what):
        raise CheckFailed(f"{name}: {what(off)}")
    if off < min(len(g), len(e)):
        raise CheckFailed(f"{name}: {what}; element {off} should be {e[off]:.6g}, got {g[off]:.6g}")
    raise CheckFailed(f"{name}: {what}; {len(e)} numbers expected, got {len(g)}")


# ----------------------------------------------------------------------------------------------------
# Inputs and scalar arithmetic in float64 (the expected values)
# ----------------------------------------------------------------------------------------------------


def tensor(values, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """An input for the learner's function (float32 by default, as networks produce)."""
    return torch.tensor(values, dtype=dtype)


def mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs)


def softplus(a: float) -> float:
    # softplus(a) = log(1 + e^a) = max(a, 0) + log1p(e^-|a|): no overflow for any a
    return max(a, 0.0) + math.log1p(math.exp(-abs(a)))


def sigmoid(a: float) -> float:
    if a >= 0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


def bce(a: float, y: float) -> float:
    # BCE(a, y) = -[y log sigmoid(a) + (1 - y) log(1 - sigmoid(a))] = y softplus(-a) + (1 - y) softplus(a)
    return y * softplus(-a) + (1.0 - y) * softplus(a)


def mean_bce(logits: Sequence[float], target: float) -> float:
    """The batch mean of BCE(a, target) over ``logits``: -mean log D for target 1, -mean log(1 - D) for target 0."""
    return mean([bce(a, target) for a in logits])


def logistic_d_loss(real: Sequence[float], fake: Sequence[float], real_target: float = 1.0,
                    fake_target: float = 0.0) -> float:
    """The discriminator's logistic loss: mean BCE of the real logits against ``real_target`` plus that of the fake
    logits against ``fake_target`` (by default -[mean log D(x) + mean log(1 - D(G(z)))])."""
    return mean_bce(real, real_target) + mean_bce(fake, fake_target)


def fixed_values(n: int, a: float, b: float) -> list[float]:
    """``n`` fixed, irregular numbers: no symmetry a wrong formula could hide behind."""
    return [round(math.sin(a * i + b) * (1.0 + 0.3 * i), 4) for i in range(n)]


def nested(flat: Sequence[float], shape: Sequence[int]):
    """``flat`` as nested lists of ``shape`` (row-major)."""
    if len(shape) == 1:
        return list(flat)
    step = len(flat) // shape[0]
    return [nested(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


# ----------------------------------------------------------------------------------------------------
# Losses on logits (notebooks 01 and 02): the test logits, and the large-logit test
# ----------------------------------------------------------------------------------------------------

BATCH_MEAN = "average over the batch with .mean()"
REAL_LOGITS = [1.5, -0.8, 0.3, 2.2, -2.0]
FAKE_LOGITS = [-1.2, 0.5, -3.0, 0.9, 0.1]
# float32 logits, as networks produce: log(sigmoid(-200)) is log(0) = -inf in float32
BIG_REAL = [-200.0, 60.0]
BIG_FAKE = [200.0, -60.0]
_LARGE_LOGIT_HINT = "use softplus / BCE-with-logits: -log sigmoid(a) = softplus(-a), -log(1 - sigmoid(a)) = softplus(a)"


def verify_large_logits(name: str, value, expected: float) -> None:
    """The loss ``value`` the learner returned at logits of about ±200 must be finite and equal ``expected``."""
    got = floats(value, name, hint=BATCH_MEAN, finite=(
        "at large logits: computed log(sigmoid(.)) directly, which is log(0) once |a| > ~100 in float32; "
        + _LARGE_LOGIT_HINT))
    if not close(got, expected):
        raise CheckFailed(
            f"{name}: wrong at large logits (expected {expected:.6g}, got {got:.6g}): log(sigmoid(a) + eps), "
            f"clamping, or BCELoss on probabilities (it clamps log at -100) caps the loss; {_LARGE_LOGIT_HINT}"
        )
