"""Benchmark: what the training loop costs over a hand-written loop doing the same work.

    python scripts/bench_loop.py [--steps 400] [--repeats 3] [--warmup 50] [--threads T] [--compare-adam]

Every notebook trains through ``gan_tutor.train.fit_gan``, which adds to each GAN step a NaN/inf
guard, a history of averaged losses, snapshots, hooks, Ctrl-C handling and a progress bar. The course
design allows that machinery at most 5% over a bare loop. This script measures it for the vanilla
GAN (``gan_tutor.gan``) at the ``cpu`` tier's config on the 4,000 MNIST-5k ``train`` digits in
[-1, 1]:

* **hand loop**: only the work of a step, written out: minibatch indices, :math:`z \\sim \\mathcal{N}(0, I)`,
  a D step on real and detached fakes (``d_logistic_loss`` with the tier's real label), a G step
  (``g_nonsaturating_loss``), the EMA update :math:`\\theta_{ema} \\leftarrow \\theta_{ema} +
  (1 - \\beta)(\\theta - \\theta_{ema})` with ``lerp_``, and fused Adam as ``train.make_adam`` builds it;
* **fit_gan**: the package's loop (``progress=False``, no run folder, snapshots every
  ``snapshot_every`` steps as the CLI asks), timed around the call.

Before timing, both run ``--warmup`` steps from the same seed, and the script checks that they end
with the same weights bit for bit: the hand loop draws its batches and noise exactly as ``fit_gan``
does, so the two do the same arithmetic and any difference in time is the loop's own. Then the two
alternate (order swapped every repeat, so drift in the machine's load hits both alike), each repeat
continuing the same run for ``--steps`` steps. Reported: median steps/s and images/s (real images
per second, ``batch_size`` per step) and the overhead, median time of a fit_gan repeat over the
median time of a hand repeat, minus 1.

``--compare-adam`` times the hand loop with fused Adam against torch's default Adam instead (on a CPU a
loop over the parameters; on CUDA the multi-tensor "foreach" kernels).

On shared cores the figures wander with other people's work: compare within one run, not across
runs, and see benchmarks/README.md for measured figures. Two threads on two busy cores can be far
slower than one (OpenMP threads wait on each other): try ``--threads 1``.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

from gan_tutor import env, gan, train
from gan_tutor.data import BatchIterator, load_mnist_5k
from gan_tutor.gan_math import d_logistic_loss, g_nonsaturating_loss


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown"


# --- the hand-written loop ----------------------------------------------------------------------------


class HandLoop:
    """G, D, G's EMA copy, two Adams, and the batch and noise streams, set up as ``fit_gan`` sets them."""

    def __init__(self, cfg: gan.GANConfig, n: int, fused: bool = True):
        self.cfg = cfg
        torch.manual_seed(cfg.seed)
        self.G, self.D = gan.build(cfg)
        # as train.fit_gan and train.new_state: EMA copy, seed everything, noise generator, fixed batch, batch order
        env.seed_everything(cfg.seed)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        self.opt_G = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=cfg.betas, fused=fused)
        self.opt_D = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=cfg.betas, fused=fused)
        self.noise = torch.Generator().manual_seed(cfg.seed)
        torch.randn(64, cfg.z_dim, generator=self.noise)  # fit_gan draws its fixed snapshot batch first
        self.batches = BatchIterator(n, cfg.batch_size, cfg.seed)

    def run(self, x: torch.Tensor, steps: int) -> None:
        cfg, G, D, G_ema, opt_G, opt_D = self.cfg, self.G, self.D, self.G_ema, self.opt_G, self.opt_D
        for _ in range(steps):
            real = x[self.batches.next_indices()]
            z = torch.randn(cfg.batch_size, cfg.z_dim, generator=self.noise)
            # D step: min -E[log D(x)] - E[log(1 - D(G(z)))], fakes detached
            opt_D.zero_grad(set_to_none=True)
            with torch.no_grad():
                fake = G(z)
            loss_d = d_logistic_loss(D(real), D(fake), cfg.real_label)
            loss_d.backward()
            opt_D.step()
            # G step: min -E[log D(G(z))]
            opt_G.zero_grad(set_to_none=True)
            loss_g = g_nonsaturating_loss(D(G(z)))
            loss_g.backward()
            opt_G.step()
            # EMA: theta_ema <- theta_ema + (1 - beta)(theta - theta_ema)
            with torch.no_grad():
                for p_ema, p in zip(G_ema.parameters(), G.parameters()):
                    p_ema.lerp_(p, 1.0 - cfg.ema_decay)


# --- the package's loop -------------------------------------------------------------------------------


class FitLoop:
    """``train.fit_gan`` on the same config, continued in memory (``state=``) from repeat to repeat."""

    def __init__(self, cfg: gan.GANConfig, x: torch.Tensor, warmup: int):
        self.cfg, self.x = cfg, x
        self.loop = train.GANLoop(z_dim=cfg.z_dim, batch_size=cfg.batch_size, seed=cfg.seed,
                                  real_label=cfg.real_label, ema_decay=cfg.ema_decay)
        torch.manual_seed(cfg.seed)
        G, D = gan.build(cfg)
        self.state = self._fit(G, D, None, warmup)

    def _fit(self, G, D, state, steps):
        with contextlib.redirect_stdout(io.StringIO()):  # its one-line "training ... from step" banner
            return train.fit_gan(G, D, self.x, self.loop, lr_g=self.cfg.lr_g, lr_d=self.cfg.lr_d,
                                 betas=self.cfg.betas, config=self.cfg.identity(), device="cpu", state=state,
                                 steps=(state.step if state else 0) + steps,
                                 snapshot_every=self.cfg.snapshot_every, progress=False)

    def run(self, steps: int) -> None:
        s = self.state
        self.state = self._fit(s.modules["G"], s.modules["D"], s, steps)


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


# --- timing -------------------------------------------------------------------------------------------


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def alternate(a, b, repeats: int) -> tuple[list[float], list[float]]:
    """Seconds of ``a()`` and ``b()``, alternating, the order swapped each repeat."""
    ta, tb = [], []
    for r in range(repeats):
        if r % 2 == 0:
            ta.append(timed(a))
            tb.append(timed(b))
        else:
            tb.append(timed(b))
            ta.append(timed(a))
        print(f"  repeat {r + 1}/{repeats}: {ta[-1]:.2f} s / {tb[-1]:.2f} s", flush=True)
    return ta, tb


def report(rows: list[tuple[str, list[float]]], steps: int, batch_size: int) -> None:
    print(f"\n{'loop':24} {'median s':>9} {'steps/s':>9} {'images/s':>9}   (each of {len(rows[0][1])} repeats: {steps} steps)")
    for name, times in rows:
        med = statistics.median(times)
        print(f"{name:24} {med:9.2f} {steps / med:9.1f} {steps * batch_size / med:9.0f}")
    base, other = statistics.median(rows[0][1]), statistics.median(rows[1][1])
    print(f"\n{rows[1][0]} over {rows[0][0]}: {100 * (other / base - 1):+.1f}% time per step "
          f"(spread of single repeats: {100 * (min(rows[1][1]) / max(rows[0][1]) - 1):+.1f}% to "
          f"{100 * (max(rows[1][1]) / min(rows[0][1]) - 1):+.1f}%)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=400, help="steps per timed repeat (default 400)")
    p.add_argument("--repeats", type=int, default=3, help="timed repeats of each loop (default 3)")
    p.add_argument("--warmup", type=int, default=50, help="untimed steps of each loop first (default 50)")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's own choice)")
    p.add_argument("--compare-adam", action="store_true", help="time fused against unfused (default) Adam on the hand loop")
    args = p.parse_args(argv)
    if args.steps < 1 or args.repeats < 1 or args.warmup < 1:
        p.error("--steps, --repeats and --warmup must be at least 1")
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    cfg = gan.tier_config("cpu")
    x = load_mnist_5k("train").as_tanh_range()  # (4000, 1, 28, 28) in [-1, 1]
    print(f"torch {torch.__version__}, Python {platform.python_version()}, {torch.get_num_threads()} threads, "
          f"CPU: {cpu_model()}")
    print(f"vanilla GAN, cpu tier: G {cfg.hidden_g}, D {cfg.hidden_d}, batch {cfg.batch_size}, "
          f"MNIST-5k train {tuple(x.shape)}")

    if args.compare_adam:
        fused, unfused = HandLoop(cfg, len(x), fused=True), HandLoop(cfg, len(x), fused=False)
        fused.run(x, args.warmup)
        unfused.run(x, args.warmup)
        print(f"warm-up: {args.warmup} steps each; timing fused / unfused Adam")
        tf, tu = alternate(lambda: fused.run(x, args.steps), lambda: unfused.run(x, args.steps), args.repeats)
        report([("hand loop, fused Adam", tf), ("hand loop, unfused Adam", tu)], args.steps, cfg.batch_size)
        return 0

    hand = HandLoop(cfg, len(x))
    hand.run(x, args.warmup)
    fit = FitLoop(cfg, x, args.warmup)
    same = all(same_weights(hand_m, fit.state.modules[k]) for k, hand_m in (("G", hand.G), ("D", hand.D), ("G_ema", hand.G_ema)))
    print(f"warm-up: {args.warmup} steps each; same weights bit for bit afterwards: {'yes' if same else 'NO'}")
    if not same:
        print("the hand loop no longer does fit_gan's work: fix HandLoop before reading the timings", file=sys.stderr)
    print("timing hand loop / fit_gan")
    th, tf = alternate(lambda: hand.run(x, args.steps), lambda: fit.run(args.steps), args.repeats)
    report([("hand loop", th), ("fit_gan", tf)], args.steps, cfg.batch_size)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
