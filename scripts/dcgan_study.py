"""Measure what each change to the 2015 DCGAN recipe buys, over seeds, and write the table.

Every variant trains on mnist-5k for the same share of its model's cpu-tier steps (``--scale``, 0.5 here: 2,000
DCGAN steps; notebook 02's MLP GAN gets 7,500 of its cheaper steps, its cpu tier taking about as long as the
DCGAN's), once per seed (``--seeds 0,1,2``; default seed 0 alone), one after the other, and is judged on 2,000 samples
by the course's digit classifier (confident share at p >= 0.9, smallest and largest class share; for a conditional
model the share classified as the requested label) and by the Fréchet distance in the classifier's features to the
1,000 held-out digits. A run that keeps EMA weights of a batch-norm generator is judged twice: as saved (the raw
generator's batch-norm statistics, copied by ``gan_step.ema_update``) and with statistics recomputed for the EMA
weights (``gan_step.standing_statistics``), under ``standing``. The real-vs-real floor (2,000 training digits against
the same held-out digits) is measured alongside. Each row holds every run, their mean, and the range over seeds
(the spread a conclusion must exceed); the seconds of each run are recorded beside its figures.

At equal steps the figures do not depend on the machine's speed or load (training is deterministic for a given
seed and thread count); the seconds do. ``--seconds`` trains at equal wall-clock time instead.

    python scripts/dcgan_study.py --seeds 0,1,2 --out benchmarks/dcgan_study.json
    python scripts/dcgan_study.py --scale 0.01 --only plain,cpu      # a quick dry run

Notebook 03 and the README quote the table; the JSON records the machine and date.
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

from gan_tutor import classifier, data, dcgan, gan_step, metrics  # noqa: E402
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
        "mlp_gan": ("gan", "notebook 02's MLP GAN (its cpu tier takes about as long)", {}),
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
    out = spec.sample(G, cfg, 2000, seed=1)
    x = out["images"]
    v = classifier.judge_digits(x, clf, labels=out.get("labels"))
    fd = metrics.frechet_distance_of(x, held_feats, clf.features)
    verdict = {"confident": v.confident_share, "min_class": min(v.class_shares), "max_class": max(v.class_shares), "frechet": fd}
    if v.label_accuracy is not None:
        verdict["label_accuracy"] = v.label_accuracy
    return verdict


def summarise(runs: list[dict]) -> dict:
    """The mean over seeds of every figure, and its range [min, max] under ``<key>_range``."""
    row = {}
    for key, value in runs[0].items():
        if key == "seed":
            continue
        if isinstance(value, dict):
            row[key] = summarise([r[key] for r in runs])
            continue
        values = [r[key] for r in runs]
        row[key] = sum(values) / len(values)
        row[f"{key}_range"] = [min(values), max(values)]
    return row


def run(table: dict[str, tuple[str, str, dict]], argv, default_out: Path, default_scale: float, doc: str = __doc__) -> int:
    """Train and judge the variants of ``table`` (name -> (model, what changes, cpu-tier overrides)) named on the
    command line ``argv``, one after the other, and write the JSON table.

    Equal steps by default: each variant trains for ``--scale`` times its model's cpu-tier steps (the tiers were set
    to take about equal time on a 2-core CPU, so an MLP GAN gets more, cheaper steps than a DCGAN), and its
    seconds are recorded beside the figures. ``--seconds`` trains every variant for the same wall-clock budget
    instead: then the steps, and so the figures, depend on the machine and on its load."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=float, default=default_scale, help="steps per variant, as a fraction of its cpu tier's")
    p.add_argument("--seconds", type=float, default=None, help="equal time instead: the training budget per variant")
    p.add_argument("--only", default="", help="comma-separated variant names (default: all)")
    p.add_argument("--out", default=str(default_out))
    p.add_argument("--seeds", default="0", help="comma-separated seeds; each variant trains once per seed (e.g. 0,1,2)")
    args = p.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    if not seeds:
        raise SystemExit("--seeds needs at least one seed, e.g. --seeds 0,1,2")
    if not args.scale > 0:
        raise SystemExit(f"--scale must be > 0, got {args.scale}")

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
            if args.seconds is None:
                budget = {"steps": max(1, round(args.scale * cfg.steps)), "seconds": None}
            else:  # equal time: the seconds are the budget (the steps cap is set out of reach)
                budget = {"steps": 10**9, "seconds": args.seconds}
            with tempfile.TemporaryDirectory() as run_dir:
                state = spec.train(cfg, train_set.images, data="mnist-5k", run_dir=run_dir, device="cpu", progress=False,
                                   labels=train_set.labels if cfg.n_classes else None, **budget)
                G, _ = spec.load_generator(run_dir, standing=False)
            run = {"seed": seed, "steps": state.step, "seconds": round(state.seconds, 1), **judge(G, spec, cfg, clf, held_feats)}
            # EMA weights of a batch-norm G: judged again with statistics recomputed for them (0 batches: no batch norm)
            if getattr(cfg, "ema_decay", None) is not None and gan_step.standing_statistics(G, cfg, batch_size=cfg.batch_size, seed=seed):
                run["standing"] = judge(G, spec, cfg, clf, held_feats)
            runs.append(run)
            extra = "".join(f"  label acc {100 * r['label_accuracy']:5.1f}%" for r in [run] if "label_accuracy" in r)
            if "standing" in run:
                extra += f"  [standing stats: confident {100 * run['standing']['confident']:5.1f}%  FD {run['standing']['frechet']:7.2f}]"
            print(f"{name:12} seed {seed} {run['steps']:6d} steps {run['seconds']:6.0f} s  confident {100 * run['confident']:5.1f}%  "
                  f"classes {100 * run['min_class']:4.1f}-{100 * run['max_class']:4.1f}%  FD {run['frechet']:7.2f}{extra}   {what}",
                  flush=True)
        rows.append({"name": name, "what": what, "runs": runs, **summarise(runs)})
    result = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{cpu_name()}, {torch.get_num_threads()} threads",
        "torch": torch.__version__,
        "budget": (f"{args.scale:g} x each model's cpu-tier steps" if args.seconds is None else f"{args.seconds:g} s per variant"),
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
    return run(variants(), argv, ROOT / "benchmarks" / "dcgan_study.json", 0.5)


if __name__ == "__main__":
    raise SystemExit(main())
