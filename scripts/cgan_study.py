"""Measure concatenation against projection as the conditional GAN's discriminator, over seeds, and write the table.

The same protocol as ``scripts/dcgan_study.py`` (whose runner this uses): each variant trains the conditional GAN of
notebook 04 on mnist-5k with its labels for half the cpu tier's steps (``--scale 0.5``: 1,500, the budget at which
notebook 04 compares the two), once per seed (``--seeds``), one after the other. It is judged on 2,000 samples, 200 of
each requested digit, by the course's digit classifier (the share classified as the requested digit, the confident
share) and by the Fréchet distance in its features to the 1,000 held-out digits. The conditional GAN keeps EMA
weights of a batch-norm generator, so each run is also judged with recomputed statistics (``standing``).

    python scripts/cgan_study.py --seeds 0,1,2 --out benchmarks/cgan_study.json
    python scripts/cgan_study.py --scale 0.01 --only concat    # a quick dry run

Notebook 04 quotes the table; the JSON records the machine and date.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

import dcgan_study  # noqa: E402


def variants() -> dict[str, tuple[str, str, dict]]:
    """name -> (model, what changes, config overrides on top of the cpu tier)."""
    return {
        "concat": ("cgan", "concat discriminator: the label as 10 constant channels (Mirza & Osindero 2014)", {"conditioning": "concat"}),
        "projection": ("cgan", "projection discriminator: <e(y), phi(x)> added to the logit (Miyato & Koyama 2018): the cpu tier",
                       {"conditioning": "projection"}),
    }


def main(argv=None) -> int:
    return dcgan_study.run(variants(), argv, ROOT / "benchmarks" / "cgan_study.json", 0.5, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
