"""Notebook 09's comparisons over seeds: CycleGAN, the same with larger patches or without cycle and identity terms
(one change each), and pix2pix on synthetic pairs, each judged on the 300 UCI test digits translated into MNIST;
writes the table.

Each variant trains at the cpu tier's steps (``cyclegan.TIERS["cpu"]``, ``cyclegan.PIX2PIX_STEPS["cpu"]``; ``--scale``
shrinks them for a dry run) once per seed, one after the other, from mnist-5k (A) and uci-digits' training split (B);
no label is used in training. The course's digit classifier then reads the translations of uci-digits' test split
(label accuracy, confident share, Fréchet distance to MNIST's held-out digits) and, for the CycleGANs, sends MNIST's
held-out digits round the cycle (L1, label accuracy, and L1 with the intermediate image re-quantised onto UCI's grid).

    python scripts/translation_study.py --seeds 0,1,2 --out benchmarks/translation_study.json
    python scripts/translation_study.py --scale 0.01 --only pix2pix    # a quick dry run

Notebook 09 and the README quote the table. Seconds depend on the machine and its load: the JSON records the machine.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from dcgan_study import cpu_name, summarise  # noqa: E402

from gan_tutor import classifier, cyclegan, data  # noqa: E402
from gan_tutor.models import get_model  # noqa: E402

# name -> (model, what changes, config overrides)
VARIANTS = {
    "cyclegan": ("cyclegan", "CycleGAN, the cpu tier (10x10 patches)", {}),
    "patch-18": ("cyclegan", "the same with 18x18 patches (a 3x3 last layer in both discriminators)", {"patch": 18}),
    "no-cycle": ("cyclegan", "the same without cycle and identity terms", {"lam_cycle": 0.0, "lam_identity": 0.0}),
    "pix2pix": ("pix2pix", "pix2pix on degraded MNIST, applied to real UCI digits", {}),
}


def flat(score: cyclegan.TranslationScore) -> dict:
    row = asdict(score.translated)
    if score.cycle_l1 is not None:
        row.update(cycle_l1=score.cycle_l1, cycle_label_accuracy=score.cycle_label_accuracy,
                   requantised_cycle_l1=score.requantised_cycle_l1, stego_ratio=score.stego_ratio)
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", default="0", help="comma-separated seeds (e.g. 0,1,2)")
    p.add_argument("--only", default="", help=f"comma-separated variants (default: all of {', '.join(VARIANTS)})")
    p.add_argument("--scale", type=float, default=1.0, help="steps as a fraction of the cpu tier's")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "translation_study.json"))
    args = p.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(VARIANTS)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown or not seeds:
        raise SystemExit(f"unknown variant {unknown[0]!r}: choose from {', '.join(VARIANTS)}" if unknown else
                         "--seeds needs at least one seed, e.g. --seeds 0,1,2")
    a_train, a_test = data.load_dataset("mnist-5k", "train"), data.load_dataset("mnist-5k", "test")
    b_test = data.load_dataset("uci-digits", "test")
    clf = classifier.load_digit_classifier()
    with torch.no_grad():
        held_features = clf.features(a_test.images)
    baseline = asdict(cyclegan.score_digits(b_test.images, b_test.labels, clf, held_features))
    rows = []
    for name in names:
        model, what, overrides = VARIANTS[name]
        spec = get_model(model)
        runs = []
        for seed in seeds:
            cfg = spec.config("cpu", seed=seed, **overrides)
            steps = max(1, round(args.scale * cfg.steps))
            cfg = spec.config("cpu", seed=seed, steps=steps, schedule_steps=steps, **overrides)
            with tempfile.TemporaryDirectory() as run_dir:
                state = spec.train(cfg, a_train.images, data="mnist-5k", run_dir=run_dir, device="cpu", progress=False)
                t, _ = spec.load_generator(run_dir)
            run = {"seed": seed, "steps": state.step, "seconds": round(state.seconds, 1),
                   **flat(cyclegan.evaluate(t, b_test, a_test, clf, held_features))}
            runs.append(run)
            cyc = (f"  cycle L1 {run['cycle_l1']:.4f} (re-quantised x{run['stego_ratio']:.2f}), cycle label acc "
                   f"{run['cycle_label_accuracy']:.3f}") if "cycle_l1" in run else ""
            print(f"{name:9} seed {seed} {run['steps']:5d} steps {run['seconds']:5.0f} s  label acc {run['label_accuracy']:.3f}  "
                  f"confident {run['confident']:.3f}  FD {run['frechet']:6.1f}{cyc}", flush=True)
        rows.append({"name": name, "what": what, "runs": runs, **summarise(runs)})
    result = {"date": datetime.date.today().isoformat(), "machine": f"{cpu_name()}, {torch.get_num_threads()} threads",
              "torch": torch.__version__, "budget": f"{args.scale:g} x the cpu tier's steps", "seeds": seeds,
              "test_digits": len(b_test), "baseline": baseline, "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"untranslated UCI test digits: label acc {baseline['label_accuracy']:.3f}, confident {baseline['confident']:.3f}, "
          f"FD {baseline['frechet']:.1f}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
