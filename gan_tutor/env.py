"""What this machine offers the course: versions, device, threads and known problems.

``env_check()`` is printed by every notebook's setup cell, so a learner's report of a problem starts
with the facts.
"""

from __future__ import annotations

import os
import platform
import sys


def known_problems(torch_version: str, torchvision_version: str | None, num_threads: int, cpu_count: int) -> list[str]:
    """Problems we know of for this combination, each with its fix."""
    problems = []
    if torchvision_version is None:
        problems.append(
            "torchvision does not import: CPU-only torch wheels (e.g. 2.13.0+cpu) cannot load the "
            "torchvision wheel; install the pinned pair from requirements-ci.txt (`make test` does)."
        )
    if num_threads > cpu_count:
        problems.append(
            f"torch uses {num_threads} threads on {cpu_count} cores: oversubscription can slow a step "
            "tenfold; set OMP_NUM_THREADS or torch.set_num_threads."
        )
    return problems


def env_check() -> str:
    """A short report: Python, torch, torchvision, device, threads, and known problems."""
    import torch

    try:
        import torchvision

        tv = torchvision.__version__
    except Exception:  # any import failure is the fact we report
        tv = None
    from gan_tutor.train import pick_device

    device = pick_device("auto")
    cpu_count = os.cpu_count() or 1
    lines = [
        f"python      {sys.version.split()[0]} ({platform.system()} {platform.machine()})",
        f"torch       {torch.__version__}",
        f"torchvision {tv or 'NOT IMPORTABLE'}",
        f"device      {device}" + (f" ({torch.cuda.get_device_name(0)})" if device.type == "cuda" else ""),
        f"threads     {torch.get_num_threads()} torch threads on {cpu_count} cores",
    ]
    problems = known_problems(torch.__version__, tv, torch.get_num_threads(), cpu_count)
    lines += [f"problem     {p}" for p in problems] or ["problems    none known"]
    return "\n".join(lines)
