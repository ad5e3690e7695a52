"""The machine: which device to train on, seeding, mixed precision, and a report of what is installed.

``env_check()`` is printed by every notebook's setup cell, so a learner's report of a problem starts
with the facts. :func:`pick_device`, :func:`seed_everything`, :func:`seeded` and :func:`autocast_for` are
what the training loop, the model registry and the notebooks ask of the machine.
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
import sys
from collections.abc import Iterator

import numpy as np
import torch


def pick_device(preference: str | torch.device = "auto") -> torch.device:
    """CUDA, then Apple's MPS, then the CPU; or exactly the device asked for (checked)."""
    if isinstance(preference, torch.device):
        preference = str(preference)
    if preference in (None, "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(preference)
    except RuntimeError:
        raise ValueError(f"unknown device {preference!r}: use 'auto', 'cpu', 'cuda', 'cuda:1' or 'mps'.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("DEVICE='cuda' but no CUDA GPU is visible: use 'auto' or 'cpu' (on Colab: Runtime > Change runtime type > GPU).")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("DEVICE='mps' but Apple's MPS backend is not available: use 'auto' or 'cpu'.")
    return device


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and every GPU)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextlib.contextmanager
def seeded(seed: int, device: torch.device | None = None) -> Iterator[None]:
    """Run a block on torch's global stream seeded with ``seed``, and give the caller's stream back afterwards.

    What the block draws (initial weights, a model's noise inputs) depends on the seed alone, not on what
    ran before, and the caller's own draws are not disturbed.
    """
    devices = [device] if device is not None and device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def autocast_for(device: torch.device, enabled: bool = True):
    """bf16 autocast on CUDA (where it speeds convolutions up); nothing elsewhere (slower on CPU)."""
    if enabled and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


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


def drive_run_root(folder: str = "gan-tutor-runs", mount_point: str = "/content/drive") -> str:
    """On Colab: mount Google Drive (Colab asks for permission once) and return ``MyDrive/<folder>``, created if
    needed, to use as ``RUN_ROOT``: checkpoints written there survive a disconnected or recycled session, and the
    training cells resume from them. Elsewhere a ``RuntimeError`` says to keep the default ``RUN_ROOT``."""
    if "google.colab" not in sys.modules:
        raise RuntimeError("drive_run_root() mounts Google Drive on Colab only; here keep RUN_ROOT as it is "
                           "(a local folder survives anyway).")
    from google.colab import drive

    drive.mount(mount_point)
    root = os.path.join(mount_point, "MyDrive", folder)
    os.makedirs(root, exist_ok=True)
    return root


def env_check() -> str:
    """A short report: Python, torch, torchvision, device, threads, and known problems."""
    try:
        import torchvision

        tv = torchvision.__version__
    except Exception:  # any import failure is the fact we report
        tv = None
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
