"""Benchmark: the Fréchet distance on 10,000 x 2,048 features (the size of an Inception FID), against scipy.linalg.sqrtm.

    python scripts/bench_frechet.py [--n 10000] [--d 2048] [--repeats 3] [--threads T] [--json FILE]

Two feature sets of N rows and D columns are drawn with a realistic spectrum (a random rotation of coordinates with
variances decaying as 1/k, like the pool features of a CNN), the second shifted and rescaled. Timed, best of
``--repeats``:

* **covariances**: ``metrics.gaussian_stats`` of one set and of both (float64; a symmetric rank-k update), and one
  covariance as a plain matrix product ``X^T X`` for comparison;
* **FD from stats**: ``metrics.frechet_distance_from_stats`` with ``method="cholesky"`` (the default for a positive
  definite S1), ``method="eigh"`` (the symmetric form sqrt(S1) S2 sqrt(S1)), and the common alternative,
  ``scipy.linalg.sqrtm(S1 @ S2)`` with its real part's trace;
* **end to end**: ``metrics.frechet_distance(features_a, features_b)``, from features to the number (the target:
  at most 2 s on a 2-core CPU).

The three values of the distance are printed too: they must agree (the test suite checks the forms against
``sqrtm`` on small matrices). Timings depend on the machine and its load: see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def best_of(fn, repeats: int) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return min(times), value


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--d", type=int, default=2048)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    p.add_argument("--json", help="also write the figures to this file")
    args = p.parse_args(argv)

    import numpy as np
    import scipy
    import scipy.linalg
    import torch

    from gan_tutor import metrics

    if args.threads:
        torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    rotation, _ = torch.linalg.qr(torch.randn(args.d, args.d, generator=g, dtype=torch.float64))
    scales = (1.0 / torch.arange(1, args.d + 1, dtype=torch.float64)).sqrt()
    fa = (torch.randn(args.n, args.d, generator=g, dtype=torch.float64) * scales) @ rotation.T
    fb = (torch.randn(args.n, args.d, generator=g, dtype=torch.float64) * scales * 1.1) @ rotation.T + 0.01

    t_cov, (stats_a, stats_b) = best_of(lambda: (metrics.gaussian_stats(fa), metrics.gaussian_stats(fb)), args.repeats)

    def plain_covariance():
        centred = fa - fa.mean(0)
        return centred.T @ centred / (args.n - 1)

    t_one, _ = best_of(lambda: metrics.gaussian_stats(fa), args.repeats)
    t_plain, _ = best_of(plain_covariance, args.repeats)
    (m1, s1), (m2, s2) = stats_a, stats_b
    t_chol, fd_chol = best_of(lambda: metrics.frechet_distance_from_stats(m1, s1, m2, s2, method="cholesky"), args.repeats)
    t_eigh, fd_eigh = best_of(lambda: metrics.frechet_distance_from_stats(m1, s1, m2, s2, method="eigh"), args.repeats)

    def via_sqrtm() -> float:
        a, b = s1.numpy(), s2.numpy()
        root = scipy.linalg.sqrtm(a @ b)
        return float(((m1 - m2) ** 2).sum() + np.trace(a) + np.trace(b) - 2 * np.trace(root).real)

    t_sqrtm, fd_sqrtm = best_of(via_sqrtm, args.repeats)
    t_total, fd_total = best_of(lambda: metrics.frechet_distance(fa, fb), args.repeats)

    rows = [("one covariance, gaussian_stats (dsyrk)", t_one, None),
            ("one covariance, plain X^T X (for comparison)", t_plain, None),
            ("covariances of both sets (gaussian_stats x 2)", t_cov, None),
            ("FD from stats, Cholesky form L^T S2 L", t_chol, fd_chol),
            ("FD from stats, eigen form sqrt(S1) S2 sqrt(S1)", t_eigh, fd_eigh),
            ("FD from stats, scipy.linalg.sqrtm(S1 S2)", t_sqrtm, fd_sqrtm),
            ("frechet_distance(features_a, features_b), end to end", t_total, fd_total)]
    machine = (f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}, "
               f"scipy {scipy.__version__}")
    print(f"{args.n} x {args.d} float64 features; best of {args.repeats}; {machine}")
    for name, seconds, value in rows:
        print(f"  {name:55} {seconds:7.3f} s" + (f"   FD = {value:.9f}" if value is not None else ""))
    spread = max(fd_chol, fd_eigh, fd_sqrtm) - min(fd_chol, fd_eigh, fd_sqrtm)
    print(f"largest difference between the three values: {spread:.2e} (relative {spread / abs(fd_eigh):.1e})")
    if args.json:
        Path(args.json).write_text(json.dumps({"n": args.n, "d": args.d, "repeats": args.repeats, "machine": machine,
                                               "seconds": {name: seconds for name, seconds, _ in rows},
                                               "values": {name: value for name, _, value in rows if value is not None}}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
