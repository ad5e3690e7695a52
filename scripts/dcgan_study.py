"""Measure what each change to the 2015 DCGAN recipe buys at equal CPU time, and write the table.

Every variant trains on mnist-5k for the same wall-clock budget, once per seed (``--seeds 0,1,2``; default seed 0
alone), one after the other (never
two at once: on a small CPU, parallel runs slow each other down unevenly), and is judged on 2,000
samples by the course's digit classifier (confident share at p >= 0.9, smallest and largest class
share) and by the Fréchet distance in the classifier's features to the 1,000 held-out digits. The
real-vs-real floor (2,000 training digits against the same held-out digits) is measured alongside. Each row holds
every run, their mean, and the range over seeds (the spread a conclusion must exceed).

    python scripts/dcgan_study.py --seconds 150 --seeds 0,1,2 --out benchmarks/dcgan_study.json
    python scripts/dcgan_study.py --seconds 5 --only plain,cpu      # a quick dry run

Notebook 03 and the README quote the table. Figures depend on the machine:
the JSON records it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gan_tutor import classifier, data, dcgan, metrics  # noqa: E402
from gan_tutor.models import get_model  # noqa: E402


def variants() -> dict[str, tuple[str, str, dict]]:
    """name -> (model, what changes, config overrides on top of the plain 2015 recipe)."""
    plain = {**dcgan.RECIPE_2015, "ngf": 32}
    cpu = dcgan.TIERS["cpu"]
    cpu_recipe = {k: getattr(cpu, k) for k in [*plain, "cluster_method"]}
    return {
        "plain": ("dcgan", "the 2015 recipe (batch-norm D, logistic loss)", plain),
        "ema": ("dcgan", "+ generator EMA (decay 0.999)", {**plain, "ema_decay": 0.999}),
        "diffaugment": ("dcgan", "+ EMA + DiffAugment (translation, cutout)", {**plain, "ema_decay": 0.999, "augment": "translation,cutout"}),
        "sn_hinge": ("dcgan", "+ EMA + spectral-norm D (ndf 64), hinge loss", {**plain, "ema_decay": 0.999, "spectral_norm": True, "ndf": 64, "loss": "hinge"}),
        "ttur": ("dcgan", "+ EMA + TTUR (lr_D 4e-4, lr_G 1e-4)", {**plain, "ema_decay": 0.999, "lr_d": 4e-4, "lr_g": 1e-4}),
        "cpu_kmeans": ("dcgan", f"+ self-conditioning on {cpu.clusters} k-means clusters of the pixels",
                       {**cpu_recipe, "cluster_method": "kmeans"}),
        "cpu": ("dcgan", f"+ self-conditioning on {cpu.clusters} spectral clusters of deskewed digits: the cpu tier", cpu_recipe),
        "cpu_ema": ("dcgan", "the cpu tier + generator EMA (decay 0.999)", {**cpu_recipe, "ema_decay": 0.999}),
        "mlp_gan": ("gan", "notebook 02's MLP GAN (cpu tier) at equal time", {}),
    }


def cpu_name() -> str:
    """The processor's model name where the OS tells it (Linux), else the architecture."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def judge(G, spec, cfg, clf, held_feats) -> dict:
    x = spec.sample(G, cfg, 2000, seed=1)["images"]
    v = classifier.judge_digits(x, clf)
    fd = metrics.frechet_distance_of(x, held_feats, clf.features)
    return {"confident": v.confident_share, "min_class": min(v.class_shares), "max_class": max(v.class_shares), "frechet": fd}


def run(table: dict[str, tuple[str, str, dict]], argv, default_out: Path, default_seconds: float, doc: str = __doc__) -> int:
    """Train and judge the variants of ``table`` (name -> (model, what changes, cpu-tier overrides)) named on the
    command line ``argv``, one after the other at equal wall-clock budgets, and write the JSON table."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=default_seconds, help="training budget per variant")
    p.add_argument("--only", default="", help="comma-separated variant names (default: all)")
    p.add_argument("--out", default=str(default_out))
    p.add_argument("--seeds", default="0", help="comma-separated seeds; each variant trains once per seed (e.g. 0,1,2)")
    args = p.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    if not seeds:
        raise SystemExit("--seeds needs at least one seed, e.g. --seeds 0,1,2")

    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(table)
    unknown = [n for n in names if n not in table]
    if unknown:
        raise SystemExit(f"unknown variant {unknown[0]!r}: choose from {', '.join(table)}")
    train_set, held = data.load_dataset("mnist-5k", "train"), data.load_dataset("mnist-5k", "test")
    clf = classifier.load_digit_classifier()
    with torch.no_grad():
        held_feats = clf.features(held.images)
    floor = {"confident": classifier.judge_digits(held.images, clf).confident_share,
             "frechet": metrics.frechet_distance_of(train_set.images[:2000], held_feats, clf.features)}
    rows = []
    for name in names:
        model, what, overrides = table[name]
        spec = get_model(model)
        runs = []
        for seed in seeds:
            cfg = spec.config("cpu", **{**overrides, "seed": seed})
            with tempfile.TemporaryDirectory() as run_dir:
                # equal time: the seconds are the budget (the steps cap is set out of reach)
                state = spec.train(cfg, train_set.images, data="mnist-5k", run_dir=run_dir, steps=10**9, seconds=args.seconds,
                                   device="cpu", progress=False)
                G, _ = spec.load_generator(run_dir)
            run = {"seed": seed, "steps": state.step, "seconds": round(state.seconds, 1), **judge(G, spec, cfg, clf, held_feats)}
            runs.append(run)
            print(f"{name:12} seed {seed} {run['steps']:6d} steps  confident {100 * run['confident']:5.1f}%  classes "
                  f"{100 * run['min_class']:4.1f}-{100 * run['max_class']:4.1f}%  FD {run['frechet']:7.2f}   {what}", flush=True)
        row = {"name": name, "what": what, "runs": runs}
        for key in ("steps", "confident", "min_class", "max_class", "frechet"):
            values = [r[key] for r in runs]
            row[key] = sum(values) / len(values)  # the mean over seeds; min and max show the spread
            row[f"{key}_range"] = [min(values), max(values)]
        rows.append(row)
    result = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{cpu_name()}, {torch.get_num_threads()} threads",
        "torch": torch.__version__,
        "seconds_per_variant": args.seconds,
        "seeds": seeds,
        "samples": 2000,
        "floor": floor,
        "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"real held-out digits: confident {100 * floor['confident']:.1f}%; real-vs-real FD {floor['frechet']:.2f}; wrote {args.out}")
    return 0


def main(argv=None) -> int:
    return run(variants(), argv, ROOT / "benchmarks" / "dcgan_study.json", 150.0)


if __name__ == "__main__":
    raise SystemExit(main())
