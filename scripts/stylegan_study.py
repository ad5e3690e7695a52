"""Measure what self-conditioning buys the StyleGAN-lite, over seeds, and write the table.

The same protocol as ``scripts/dcgan_study.py`` (whose runner this uses): each variant trains on mnist-5k
for half the cpu tier's steps (``--scale 0.5``: 2,000), once per seed (``--seeds``), one after the other, and is judged
on 2,000 samples by the course's digit classifier and by the Fréchet distance in its features to the 1,000 held-out
digits.

    python scripts/stylegan_study.py --seeds 0,1,2 --out benchmarks/stylegan_study.json
    python scripts/stylegan_study.py --scale 0.01 --only unconditional    # a quick dry run

Notebook 06 and the README quote the table. Figures depend on the machine: the JSON records it.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

import dcgan_study  # noqa: E402

from gan_tutor import stylegan  # noqa: E402


def variants() -> dict[str, tuple[str, str, dict]]:
    """name -> (model, what changes, config overrides on top of the cpu tier)."""
    cpu = stylegan.TIERS["cpu"]
    return {
        "unconditional": ("stylegan", "the cpu tier without self-conditioning", {"clusters": 0}),
        "cpu": ("stylegan", f"self-conditioning on {cpu.clusters} spectral clusters of deskewed digits: the cpu tier", {}),
    }


def main(argv=None) -> int:
    return dcgan_study.run(variants(), argv, ROOT / "benchmarks" / "stylegan_study.json", 0.5, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
