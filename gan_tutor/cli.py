"""``python -m gan_tutor``: train, sample and fetch data from a shell (for instructors and scripts).

    python -m gan_tutor train gan --data mnist-5k --tier cpu --out runs/gan
    python -m gan_tutor sample runs/gan --n 2000 --out samples.npz [--label K]
    python -m gan_tutor train cyclegan --tier cpu --out runs/cyclegan
    python -m gan_tutor translate runs/cyclegan --data uci-digits --split test --out translated.npz
    python -m gan_tutor data list
    python -m gan_tutor data prefetch mnist fashion-mnist

``sample`` writes an ``.npz`` with ``images`` (N, C, H, W) float32 in [0, 1] and, for conditional
models, ``labels`` (N,) int64. ``translate`` writes ``images`` (the translations, (N, 1, 28, 28) float32 in [0, 1]),
``sources`` (the inputs) and ``labels`` (the inputs' dataset labels, for measuring only). A run folder resumes where it stopped: run ``train`` again.
"""

from __future__ import annotations

import argparse
import io
import math
import os
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


def _output(args, example: str) -> Path:
    """--out checked: an .npz file that is not a folder and does not exist unless --force."""
    path = Path(args.out)
    if path.suffix != ".npz":
        raise ValueError(f"--out must end in .npz, got {path.name}.")
    if path.is_dir():
        raise ValueError(f"--out {path} is a folder: name a file, e.g. {path / example}.")
    if path.exists() and not args.force:
        raise ValueError(f"{path} exists: choose another --out, or add --force to overwrite it.")
    return path


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    from gan_tutor.checkpoint import atomic_write_bytes

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, lambda f: f.write(buf.getvalue()))


def _sample(args) -> int:
    from gan_tutor.models import get_model, model_of_run

    path = _output(args, "samples.npz")
    name = model_of_run(args.run_dir)
    spec = get_model(name)
    G, cfg = spec.load_generator(args.run_dir, args.device)
    check_memory(args.n, cfg.image_shape)
    out = spec.sample(G, cfg, args.n, args.label, args.seed)
    arrays = {k: v.numpy() for k, v in out.items()}
    _write_npz(path, arrays)
    print(f"wrote {args.n} samples of '{name}' to {path}: images {arrays['images'].shape} float32 in [0, 1]"
          + (", labels" if "labels" in arrays else ""))
    return 0


def _translate(args) -> int:
    from gan_tutor.data import load_dataset
    from gan_tutor.models import Kind, get_model, model_of_run

    path = _output(args, "translated.npz")
    name = model_of_run(args.run_dir)
    spec = get_model(name)
    if spec.kind is not Kind.TRANSLATION:
        raise ValueError(f"{args.run_dir} holds a '{name}' run, which samples from noise and translates nothing: "
                         f"use `python -m gan_tutor sample {args.run_dir} --out FILE.npz`, or give a cyclegan or pix2pix run.")
    t, _ = spec.load_generator(args.run_dir, args.device)
    direction = args.direction
    if direction not in t.nets:
        raise ValueError(f"'{name}' learns {' and '.join(t.nets)} only: drop --direction {direction}.")
    source, target = t.source(direction), (t.domain_a if direction == "b2a" else t.domain_b)
    if args.data != source:
        swap = " (use --direction " + ("a2b" if direction == "b2a" else "b2a") + ")" if args.data == target and len(t.nets) == 2 else ""
        raise ValueError(f"this run translates {direction} from {source} into {target}; --data {args.data} is not its "
                         f"source domain: use --data {source}{swap}.")
    data = load_dataset(args.data, args.split)
    check_memory(2 * len(data), tuple(data.images.shape[1:]))
    images = t(data.images, direction)
    _write_npz(path, {"images": images.numpy(), "sources": data.images.numpy(), "labels": data.labels.numpy()})
    print(f"wrote {len(images)} translations ({direction}: {source} -> {target}) of {args.data} {args.split} to {path}: "
          f"images, sources {tuple(images.shape)} float32 in [0, 1], labels")
    return 0


def available_memory() -> int | None:
    """Bytes of memory available now, or None where the system does not say.

    Linux: MemAvailable (free memory plus the page cache the kernel can drop); elsewhere the free pages."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(n: int, image_shape: tuple[int, ...], available: int | None = None) -> None:
    """Refuse an ``n`` whose samples would not fit in memory (float32 images, held twice while written)."""
    need = 2 * 4 * n * math.prod(image_shape)
    available = available_memory() if available is None else available
    if available is not None and need > available // 2:
        raise ValueError(f"--n {n} would need about {need / 2**30:.1f} GiB for the samples, and about "
                         f"{available / 2**30:.1f} GiB of memory is available: ask for fewer, or write several files "
                         "with different --seed values.")


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
    s.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    s.set_defaults(func=_sample)
    r = sub.add_parser("translate", help="translate a dataset split with a cyclegan or pix2pix run into an .npz")
    r.add_argument("run_dir")
    r.add_argument("--data", default="uci-digits", help="the source dataset (the run's domain B for b2a, A for a2b)")
    r.add_argument("--split", default="test", help="train | test")
    r.add_argument("--direction", default="b2a", choices=["b2a", "a2b"],
                   help="b2a: from domain B into A, into MNIST by default (the default); a2b: from A into B (CycleGAN only)")
    r.add_argument("--out", required=True)
    r.add_argument("--device", default="cpu")
    r.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    r.set_defaults(func=_translate)
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
