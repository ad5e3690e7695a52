"""Execute every course notebook in order, headless, at one tier: `make run TIER=cpu`.

Each notebook runs through papermill with its parameters cell set (TIER, and RUN_ROOT so checkpoints
land in build/TIER/runs, emptied first unless --resume), into build/TIER/<name>.ipynb. One line per
notebook as it goes, then a summary table; the exit status is non-zero if any notebook failed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIERS = ("smoke", "cpu", "gpu", "full")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tier", default="cpu", choices=TIERS)
    p.add_argument("--only", nargs="*", help="run only notebooks whose name starts with these, e.g. 01 02")
    p.add_argument("--resume", action="store_true",
                   help="keep this tier's run folders and resume them (default: start afresh, so results reproduce)")
    args = p.parse_args(argv)

    import os
    import shutil

    import papermill as pm

    os.environ["GAN_TUTOR_HEADLESS"] = "1"  # explorers draw one static figure (gan_tutor.viz.explorer)

    out_dir = ROOT / "build" / args.tier
    runs = out_dir / "runs"
    if not args.resume:
        shutil.rmtree(runs, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if args.only:
        notebooks = [nb for nb in notebooks if nb.name.startswith(tuple(args.only))]
    rows = []
    for nb in notebooks:
        start = time.perf_counter()
        status = "ok"
        try:
            pm.execute_notebook(str(nb), str(out_dir / nb.name), parameters={"TIER": args.tier, "RUN_ROOT": str(runs)},
                                cwd=str(nb.parent), progress_bar=False, kernel_name="python3")
        except Exception as e:  # papermill raises PapermillExecutionError with the failing cell
            status = f"FAILED: {str(e).strip().splitlines()[-1][:100]}" if str(e).strip() else "FAILED"
        seconds = time.perf_counter() - start
        rows.append((nb.name, args.tier, seconds, status))
        print(f"{nb.name:32} {args.tier:6} {seconds:7.1f} s  {status}", flush=True)
    print()
    print("| notebook | tier | seconds | status |\n|---|---|---:|---|")
    for name, tier, seconds, status in rows:
        print(f"| {name} | {tier} | {seconds:.1f} | {status} |")
    print(f"\nexecuted notebooks are in {out_dir.relative_to(ROOT)}/")
    return 0 if all(r[3] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
