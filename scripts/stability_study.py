"""Notebook 08's equal-budget comparison: one loss or regulariser changed at a time, over seeds, and write the table.

The runner of ``scripts/dcgan_study.py``: each recipe of ``stability.VARIANTS`` (a CLI model name each:
gan-logistic, sngan, wgan, wgan-gp, gan-r1; notebook 02's MLP GAN with the loss and the regulariser changed, nothing
else, no self-conditioning) trains on mnist-5k once per seed (``--seeds``), one after the other, and is judged on 2,000
samples by the course's digit classifier and by the Fréchet distance in its features to the 1,000 held-out digits.

The budget is equal wall-clock time (``--seconds``), the budget a learner has: the Wasserstein recipes take 5 critic
steps per generator step, as their papers do, so each of their steps costs about four of the others', and the steps
each run reached are recorded beside its figures. Figures at equal time depend on the machine and its load: run
nothing else meanwhile. ``--scale`` trains equal shares of the cpu tier's steps instead.

    python scripts/stability_study.py --seconds 150 --seeds 0,1,2 --out benchmarks/stability_study.json
    python scripts/stability_study.py --seconds 5 --only wgan-gp    # a quick dry run

Notebook 08 and the README quote the table. Figures depend on the machine: the JSON records it.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

import dcgan_study  # noqa: E402

from gan_tutor.models import MODELS  # noqa: E402
from gan_tutor.stability import VARIANTS  # noqa: E402


def variants() -> dict[str, tuple[str, str, dict]]:
    """name -> (model, what changes, config overrides on top of its cpu tier): the registered recipes as they are."""
    return {name: (name, MODELS[name].help.removesuffix(", notebook 08"), {}) for name in VARIANTS}


def main(argv=None) -> int:
    return dcgan_study.run(variants(), argv, ROOT / "benchmarks" / "stability_study.json", 1.0, __doc__)


if __name__ == "__main__":
    raise SystemExit(main())
