"""``python -m gan_tutor``: train, sample and fetch data from a shell (for instructors and scripts).

    python -m gan_tutor train gan --data mnist-5k --tier cpu --out runs/gan
    python -m gan_tutor sample runs/gan --n 2000 --out samples.npz [--label K]
    python -m gan_tutor data list
    python -m gan_tutor data prefetch mnist fashion-mnist

``sample`` writes an ``.npz`` with ``images`` (N, C, H, W) float32 in [0, 1] and, for conditional
models, ``labels`` (N,) int64. A run folder resumes where it stopped: run ``train`` again.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np


def _train(args) -> int:
    from gan_tutor.data import load_dataset
    from gan_tutor.models import get_model

    spec = get_model(args.model)
    data = load_dataset(args.data, "train")
    overrides = {"image_shape": tuple(data.shape)}
    if args.seed is not None:
        overrides["seed"] = args.seed
    cfg = spec.config(args.tier, **overrides)
    print(f"config: {cfg}")
    state = spec.train(cfg, data.images, data.labels if spec.conditional else None, data=args.data, run_dir=args.out,
                       steps=args.steps, seconds=args.seconds, device=args.device, progress=not args.no_progress)
    print(f"'{args.model}' at step {state.step} after {state.seconds:.0f} s of training; checkpoint in {args.out}")
    return 130 if state.interrupted else 0


def _sample(args) -> int:
    from gan_tutor.checkpoint import atomic_write_bytes
    from gan_tutor.models import model_of_run, sample_run

    path = Path(args.out)
    if path.suffix != ".npz":
        raise ValueError(f"--out must end in .npz, got {path.name}.")
    name = model_of_run(args.run_dir)
    out = sample_run(args.run_dir, args.n, args.label, args.seed, args.device)
    arrays = {k: v.numpy() for k, v in out.items()}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, lambda f: f.write(buf.getvalue()))
    print(f"wrote {args.n} samples of '{name}' to {path}: images {arrays['images'].shape} float32 in [0, 1]"
          + (", labels" if "labels" in arrays else ""))
    return 0


def _data(args) -> int:
    from gan_tutor import data

    if args.action == "list":
        rows = data.list_datasets()
        print(f"{'name':15} {'shape':10} {'offline':8} {'here':5} description")
        for r in rows:
            shape = "x".join(map(str, r["shape"]))
            print(f"{r['name']:15} {shape:10} {'yes' if r['offline'] else 'no':8} {'yes' if r['available'] else 'no':5} {r['description']}")
        return 0
    if not args.names:
        raise ValueError("name at least one dataset: python -m gan_tutor data prefetch mnist")
    for name in args.names:
        data.prefetch(name)  # prints where the dataset is and how it was verified
    return 0


def parser() -> argparse.ArgumentParser:
    from gan_tutor.models import MODELS

    p = argparse.ArgumentParser(prog="python -m gan_tutor", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a model into a run folder (resumes if it exists)")
    t.add_argument("model", help="; ".join(f"{k}: {v.help}" for k, v in MODELS.items()))
    t.add_argument("--data", default="mnist-5k", help="dataset name (python -m gan_tutor data list)")
    t.add_argument("--tier", default="cpu", help="smoke | cpu | gpu | full")
    t.add_argument("--out", required=True, help="run folder (created; resumed if it holds a checkpoint)")
    t.add_argument("--steps", type=int, help="total steps (default: the tier's)")
    t.add_argument("--seconds", type=float, help="wall-clock budget for this session")
    t.add_argument("--seed", type=int)
    t.add_argument("--device", default="auto")
    t.add_argument("--no-progress", action="store_true")
    t.set_defaults(func=_train)
    s = sub.add_parser("sample", help="draw samples from a trained run into an .npz")
    s.add_argument("run_dir")
    s.add_argument("--n", type=int, default=2000)
    s.add_argument("--out", required=True)
    s.add_argument("--label", type=int, help="conditional models: the class to generate")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--device", default="cpu")
    s.set_defaults(func=_sample)
    d = sub.add_parser("data", help="list datasets or prefetch them for offline use")
    d.add_argument("action", choices=["list", "prefetch"])
    d.add_argument("names", nargs="*")
    d.set_defaults(func=_data)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from gan_tutor.checkpoint import CheckpointError
    from gan_tutor.train import TrainingDiverged

    try:
        return args.func(args)
    except (ValueError, TypeError, CheckpointError, TrainingDiverged, OSError) as e:  # they name the fix
        print(f"error: {e}", file=sys.stderr)
        return 2
