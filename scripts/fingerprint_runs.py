"""Fingerprint every registered model: a smoke-tier CLI run with a fixed seed, its weights and its samples.

    python scripts/fingerprint_runs.py --out OUT.json [--models gan dcgan ...]

Each model is trained with ``python -m gan_tutor train MODEL --tier smoke --seed 0`` on one thread, sampled with
``python -m gan_tutor sample RUN --n 64 --seed 0`` (a translation model: ``translate RUN --data uci-digits``), and
the sha256 of every tensor in the checkpoint's modules and of the samples is written to OUT.json. Two fingerprints taken on one machine before and after a change that should not
alter behaviour (a restructuring) must be equal: ``python scripts/fingerprint_runs.py --compare A.json B.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch


def _digest(t: torch.Tensor | np.ndarray) -> str:
    a = t.detach().cpu().contiguous().numpy() if isinstance(t, torch.Tensor) else np.ascontiguousarray(t)
    return hashlib.sha256(a.tobytes() + str(a.dtype).encode() + str(a.shape).encode()).hexdigest()[:16]


def fingerprint(model: str, folder: Path) -> dict[str, str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    from gan_tutor.models import Kind, get_model

    run, out = folder / model, folder / f"{model}.npz"
    # a translation model translates a dataset split instead of sampling noise
    use = (["translate", str(run), "--data", "uci-digits", "--split", "test", "--out", str(out)]
           if get_model(model).kind is Kind.TRANSLATION else ["sample", str(run), "--n", "64", "--seed", "0", "--out", str(out)])
    for args in (["train", model, "--tier", "smoke", "--seed", "0", "--out", str(run), "--no-progress"], use):
        done = subprocess.run([sys.executable, "-m", "gan_tutor", *args], env=env, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"python -m gan_tutor {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    state = torch.load(run / "checkpoint.pt", map_location="cpu", weights_only=True)
    prints = {f"{name}/{key}": _digest(value)
              for name, module in sorted(state["state"]["modules"].items()) for key, value in sorted(module.items())}
    with np.load(out) as samples:
        prints.update({f"samples/{key}": _digest(samples[key]) for key in sorted(samples.files)})
    return prints


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", help="where to write the fingerprints (JSON)")
    p.add_argument("--models", nargs="*")
    p.add_argument("--compare", nargs=2, metavar=("A", "B"))
    args = p.parse_args(argv)
    if args.compare:
        a, b = (json.loads(Path(f).read_text()) for f in args.compare)
        models = sorted(set(a) & set(b))
        differ = sorted(f"{m}: {k}" for m in models for k in set(a[m]) | set(b[m]) if a[m].get(k) != b[m].get(k))
        print("\n".join(differ) if differ else f"identical: {', '.join(models)}")
        if set(a) ^ set(b):
            print(f"in one file only (not compared): {', '.join(sorted(set(a) ^ set(b)))}")
        return 1 if differ else 0
    if not args.out:
        p.error("give --out OUT.json (or --compare A.json B.json)")
    from gan_tutor.models import MODELS

    with tempfile.TemporaryDirectory() as tmp:
        result = {m: fingerprint(m, Path(tmp)) for m in (args.models or sorted(MODELS))}
    Path(args.out).write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"{sum(map(len, result.values()))} fingerprints of {', '.join(result)} in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
