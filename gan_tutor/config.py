"""Typed run configs: what every model's config shares (its identity) and tier presets.

A model module defines a dataclass config that subclasses :class:`RunConfig` and a dict ``TIERS`` of
presets; ``tier_config`` in the module is ``pick_tier(TIERS, tier, **overrides)``.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import TypeVar

# The budget of a run, not its identity: a run folder may be resumed with more steps.
BUDGET_FIELDS = ("steps", "snapshot_every")

C = TypeVar("C")


class RunConfig:
    """Mixin for config dataclasses: ``identity()`` is the JSON-able dict a run folder is tied to."""

    def identity(self) -> dict:
        d = asdict(self)
        for k in BUDGET_FIELDS:
            d.pop(k, None)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def pick_tier(tiers: dict[str, C], tier: str, **overrides) -> C:
    """The preset for ``tier`` with ``overrides`` applied; an unknown tier lists the valid ones."""
    if tier not in tiers:
        raise ValueError(f"unknown tier {tier!r}: use one of {', '.join(tiers)}.")
    return replace(tiers[tier], **overrides)
