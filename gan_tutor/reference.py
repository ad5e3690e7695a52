"""The figures a notebook promises, compared with what this run measured, wherever it runs.

Each notebook's top table states figures measured in one setting: its reference setting, the cpu tier on mnist-5k on a
CPU (the tier's seed, 0). :func:`check` compares a run's figures with those promises. In the reference setting a
figure that misses its promise is an ``AssertionError`` (a regression: ``make run TIER=cpu`` fails); in any other
setting (another tier or dataset, a GPU, another seed) the figures are printed beside the promises, for comparison,
because nothing was promised there.

    reference.check({"label accuracy": (acc, ">=", 0.97)}, tier=TIER, data=DATASET, device=device, seed=SEED)

:func:`resolve_tier` turns ``TIER = "auto"`` into ``"gpu"`` on a CUDA machine and ``"cpu"`` elsewhere.
"""

from __future__ import annotations

import math
import operator
from typing import Mapping

import torch

from gan_tutor.env import pick_device

REFERENCE = {"tier": "cpu", "data": "mnist-5k", "device": "cpu", "seed": 0}
TIERS = ("smoke", "cpu", "gpu", "full")
_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}


def resolve_tier(tier: str) -> str:
    """``"auto"``: ``"gpu"`` when CUDA is available, else ``"cpu"``; any other tier is returned as given (checked)."""
    if tier == "auto":
        return "gpu" if torch.cuda.is_available() else "cpu"
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}: use 'auto' or one of {', '.join(TIERS)}.")
    return tier


def setting(tier: str, data: str, device, seed: int = 0) -> dict:
    """The setting of a run, in the terms of :data:`REFERENCE`: the device by its type (cpu, cuda, mps; "auto" is
    resolved as training resolves it, ``env.pick_device``)."""
    device = pick_device("auto") if device in (None, "auto") else torch.device(device)
    return {"tier": tier, "data": data, "device": device.type, "seed": seed}


def is_reference(tier: str, data: str, device, seed: int = 0) -> bool:
    """True when a run's setting is the one the notebooks' promised figures were measured in."""
    return setting(tier, data, device, seed) == REFERENCE


def check(promises: Mapping[str, tuple[float, str, float]], *, tier: str, data: str, device, seed: int = 0) -> bool:
    """Compare measured figures with their promises: ``{name: (measured, op, promised)}``, op one of >=, <=, >, <.

    Prints one line per figure. Returns True when every promise holds. In the reference setting
    (:func:`is_reference`) a broken promise raises ``AssertionError`` naming each figure that missed; elsewhere
    it is reported, not raised.
    """
    for name, entry in promises.items():
        if not (isinstance(entry, tuple) and len(entry) == 3 and entry[1] in _OPS):
            raise ValueError(f"promise {name!r} must be (measured, op, promised) with op one of "
                             f"{', '.join(_OPS)}; got {entry!r}.")
    here = setting(tier, data, device, seed)
    enforced = here == REFERENCE
    missed = []
    print("measured against the figures promised at the top "
          + ("(reference setting: enforced)" if enforced else
             f"(this run: {_describe(here)}; the promises were measured at {_describe(REFERENCE)}: shown for comparison)"))
    for name, (measured, op, promised) in promises.items():
        value = float(measured)
        ok = math.isfinite(value) and _OPS[op](value, promised)
        if not ok:
            missed.append(f"{name} {value:.4g} (promised {op} {promised:g})")
        print(f"  {name:<28} {value:10.4g}   promised {op} {promised:<8g} {'ok' if ok else 'MISSED'}")
    if missed and enforced:
        raise AssertionError("below the figures this notebook promises, in the setting they were measured in: "
                             + "; ".join(missed) + ". Something regressed: compare with the last good run.")
    return not missed


def _describe(s: Mapping) -> str:
    return f"the {s['tier']} tier on {s['data']}, {s['device']}, seed {s['seed']}"
