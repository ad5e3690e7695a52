"""Pretrained generators that ship with the package: each trained model of notebooks 02-06 at the cpu tier.

A notebook that needs an earlier notebook's model (03 compares with 02's, 05 with 03's, 07 scores them all) takes the
learner's own run when its folder holds one and these weights otherwise, and says which (:func:`generator`). So each
notebook runs alone on a fresh machine (Colab gives every notebook its own), offline.

The weights are the sampling generator of each run (the EMA weights where the run kept them, with the batch-norm
statistics the model samples with), in safetensors (tensors only: loading runs no code), half precision where the
judged figures did not change (the manifest records both), hashed (sha256) in ``weights/pretrained.json`` beside the
tier, seed, data, course version, training cost and figures measured on them. ``scripts/make_pretrained.py``
regenerates them from a ``make run TIER=cpu``.

    G, cfg = pretrained.load("dcgan")
    G, cfg, source = pretrained.generator("dcgan", f"{RUN_ROOT}/03_dcgan_mnist-5k_cpu_seed0")
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from gan_tutor.checkpoint import CheckpointError
from gan_tutor.env import pick_device

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
MANIFEST_NAME = "pretrained.json"
# model -> the run folder's name stem its notebook writes (f"{stem}_{data}_{tier}_seed{seed}") and the notebook
COURSE_MODELS: dict[str, tuple[str, str]] = {
    "gan": ("02_gan", "02"),
    "dcgan": ("03_dcgan", "03"),
    "cgan": ("04_cgan_projection", "04"),
    "vae": ("05_vae", "05"),
    "stylegan": ("06_stylegan", "06"),
}


def run_folder(model: str, run_root: str | Path, data: str = "mnist-5k", tier: str = "cpu", seed: int = 0) -> Path:
    """Where ``model``'s notebook writes its run: ``<run_root>/<stem>_<data>_<tier>_seed<seed>``."""
    return Path(run_root) / f"{_entry_name(model)[0]}_{data}_{tier}_seed{seed}"


def manifest(weights_dir: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """The manifest: model -> its file, sha256, setting, training cost and measured figures."""
    path = Path(weights_dir or WEIGHTS_DIR) / MANIFEST_NAME
    try:
        return json.loads(path.read_text())["models"]
    except FileNotFoundError:
        raise CheckpointError(f"no pretrained weights here ({path} is missing): reinstall gan-tutor, or train the "
                              "model with its notebook.") from None
    except (json.JSONDecodeError, KeyError) as e:
        raise CheckpointError(f"{path} is damaged ({e}): reinstall gan-tutor, or regenerate the weights with "
                              "scripts/make_pretrained.py.") from None


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load(model: str, device="cpu", weights_dir: str | Path | None = None):
    """(G, cfg): the shipped generator of ``model`` (one of :data:`COURSE_MODELS`) in eval mode on ``device``,
    its file checked against the manifest's sha256 first."""
    from safetensors.torch import load_file

    from gan_tutor.models import get_model

    _entry_name(model)
    folder = Path(weights_dir or WEIGHTS_DIR)
    entry = manifest(folder).get(model)
    if entry is None:
        raise CheckpointError(f"the shipped weights have no '{model}': train it with notebook "
                              f"{COURSE_MODELS[model][1]}.")
    path = folder / entry["file"]
    if not path.exists():
        raise CheckpointError(f"{path} is missing: reinstall gan-tutor, or train '{model}' with notebook "
                              f"{COURSE_MODELS[model][1]}.")
    if sha256_of(path) != entry["sha256"]:
        raise CheckpointError(f"{path} does not match its sha256 in {MANIFEST_NAME}: the file is corrupted or was "
                              "edited. Reinstall gan-tutor (pip install --force-reinstall gan-tutor), or regenerate the "
                              "weights with scripts/make_pretrained.py.")
    cfg = get_model(model).config_from_identity(entry["config"])
    try:
        G = from_tensors(model, cfg, load_file(str(path)))
    except (RuntimeError, KeyError, ValueError) as e:
        raise CheckpointError(f"{path} does not fit the '{model}' model of this gan_tutor version "
                              f"({' '.join(str(e).split())[:200]}): regenerate the weights with "
                              "scripts/make_pretrained.py.") from None
    return G.to(pick_device(device)).eval(), cfg


def generator(model: str, run_dir: str | Path, device="cpu"):
    """(G, cfg, source): the learner's own run in ``run_dir`` when it holds a usable checkpoint, else the shipped
    weights; ``source`` says which, to print beside the results."""
    from gan_tutor.models import get_model

    _entry_name(model)
    try:
        G, cfg = get_model(model).load_generator(run_dir, device)
    except CheckpointError as own:
        if Path(run_dir).is_dir() and any(Path(run_dir).iterdir()):  # a run there, but unusable: say so
            print(f"note: {own}")
        G, cfg = load(model, device)
        entry = manifest()[model]
        return G, cfg, (f"the shipped {entry['tier']}-tier weights (gan_tutor.pretrained; {entry['steps']:,} steps, "
                        f"seed {entry['seed']}, {entry['data']}): no run of yours in {run_dir}")
    return G, cfg, f"your run in {run_dir}"


def training_cost(model: str, run_dir: str | Path) -> tuple[int, float, str]:
    """(steps, seconds, where) of the generator :func:`generator` returns for the same arguments."""
    from gan_tutor.models import training_cost as run_cost

    try:
        steps, seconds = run_cost(run_dir, model)
    except CheckpointError:
        entry = manifest()[model]
        return int(entry["steps"]), float(entry["seconds"]), f"shipped, trained on {entry['machine']}"
    return steps, seconds, "your run"


def from_tensors(model: str, cfg, tensors: dict[str, torch.Tensor]):
    """``model``'s sampling network for ``cfg`` with the weights ``tensors`` (a generator's or a likelihood model's
    state dict), not yet in eval mode: what :func:`load` and ``scripts/make_pretrained.py`` build."""
    from gan_tutor.models import KINDS, Kind, get_model

    spec = get_model(model)
    return KINDS[spec.kind].load(spec, cfg, {"G" if spec.kind is Kind.ADVERSARIAL else "net": tensors})


def _entry_name(model: str) -> tuple[str, str]:
    if model not in COURSE_MODELS:
        raise ValueError(f"no pretrained weights for {model!r}: choose one of {', '.join(COURSE_MODELS)}.")
    return COURSE_MODELS[model]
