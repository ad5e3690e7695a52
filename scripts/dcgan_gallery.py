"""Measure notebook 03's failure gallery with budgets long enough to tell "fails" from "slower", over seeds.

Each variant drops one piece of the plain 2015 DCGAN recipe (the ``plain`` row of ``scripts/dcgan_study.py``) and
trains with the same protocol (whose runner this uses): half the cpu tier's steps (``--scale 0.5``: 2,000, the budget
of the study's rows, so its ``plain`` row, trained with the same config and seeds, is the reference), once per seed,
judged on 2,000 samples by the course's digit classifier and by the Fréchet distance to the held-out digits.

    python scripts/dcgan_gallery.py --seeds 0,1,2 --out benchmarks/dcgan_gallery.json
    python scripts/dcgan_gallery.py --scale 0.01 --only saturating    # a quick dry run

Notebook 03 quotes the table (its own gallery cell trains a few hundred steps to show how each run starts); the JSON
records the machine and date.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

import dcgan_study  # noqa: E402

from gan_tutor import dcgan  # noqa: E402


def variants() -> dict[str, tuple[str, str, dict]]:
    """name -> (model, what is dropped, config overrides on top of the cpu tier)."""
    plain = {**dcgan.RECIPE_2015, "ngf": 32}
    return {
        "no_batch_norm": ("dcgan", "no batch norm in G or D", {**plain, "batch_norm": False}),
        "saturating": ("dcgan", "the saturating generator loss log(1 - D(G(z)))", {**plain, "saturating": True}),
        "lr_d_x10": ("dcgan", "D's learning rate x10 (2e-3)", {**plain, "lr_d": 10 * plain["lr_d"]}),
    }


def main(argv=None) -> int:
    return dcgan_study.run(variants(), argv, ROOT / "benchmarks" / "dcgan_gallery.json", 0.5, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
