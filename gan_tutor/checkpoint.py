"""Checkpoints that survive a dropped Colab session: written atomically, loaded weights-only.

A checkpoint is one ``torch.save`` file holding plain containers of tensors, numbers and strings
(models, optimisers, EMA weights, step, RNG states, history, config). It is

* written atomically: to a temporary file in the same folder, flushed and fsynced, then renamed over
  the old one with ``os.replace`` (atomic on POSIX and Windows), so a process killed mid-write leaves
  the previous checkpoint intact;
* loaded with ``torch.load(weights_only=True)``, which unpickles tensors and plain containers only and
  so cannot run code hidden in a file someone shared;
* tagged with the model name and a format version, so a checkpoint of another model, or a truncated
  or corrupted file, gives an error that says what to do instead of a stack of unpickling noise.

Used by ``gan_tutor.train`` (every notebook's training) and the CLI.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

FORMAT_VERSION = 1
CHECKPOINT_NAME = "checkpoint.pt"
CONFIG_NAME = "config.json"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used here; the message says why and what to do."""


def _write(state: dict, f) -> None:
    """Serialise ``state`` into the open file ``f`` (separate so tests can interrupt a write)."""
    torch.save(state, f)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open folders; the rename is still atomic
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, write_fn) -> None:
    """Call ``write_fn(f)`` on a temporary file beside ``path``, then rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            write_fn(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def save_checkpoint(path: str | Path, state: dict[str, Any], model: str) -> None:
    """Write ``state`` (tensors and plain containers only) for model ``model`` atomically."""
    payload = {"format": FORMAT_VERSION, "model": model, **state}
    atomic_write_bytes(Path(path), lambda f: _write(payload, f))


def load_checkpoint(path: str | Path, model: str | None = None) -> dict[str, Any]:
    """Load a checkpoint weights-only; check its format and, if given, that it belongs to ``model``."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}: train first (`python -m gan_tutor train ...`).")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # truncated zip, flipped bytes, pickled code: all unusable the same way
        raise CheckpointError(
            f"{path} is truncated, corrupted or not a gan_tutor checkpoint ({type(e).__name__}: {e}). "
            "Delete it (and its run folder) to train afresh, or restore the file from a copy."
        ) from None
    if not isinstance(state, dict) or "format" not in state or "model" not in state:
        raise CheckpointError(f"{path} is not a gan_tutor checkpoint (no format/model tags).")
    if state["format"] != FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format {state['format']}, this gan_tutor reads format {FORMAT_VERSION}: "
            "use the gan_tutor version that wrote it, or train afresh."
        )
    if model is not None and state["model"] != model:
        raise CheckpointError(
            f"{path} holds a '{state['model']}' model, not '{model}': point at a run of '{model}', "
            f"or load it as '{state['model']}'."
        )
    return state


def save_config(run_dir: str | Path, config: dict[str, Any]) -> None:
    """Write the run's config beside its checkpoint, for people (the checkpoint holds it too)."""
    text = json.dumps(config, indent=2, sort_keys=True) + "\n"
    atomic_write_bytes(Path(run_dir) / CONFIG_NAME, lambda f: f.write(text.encode()))


def config_differences(saved: dict[str, Any], current: dict[str, Any], defaults: dict[str, Any] | None = None) -> list[str]:
    """Lines ``key: saved -> current`` for every key whose value differs.

    A key the saved config lacks (a field added after the run was written) is no difference when the current
    value is its default in ``defaults``: the run was trained as if at that default.
    """
    defaults = defaults or {}
    absent = object()

    def same(k: str) -> bool:
        old = saved.get(k, absent)
        if old is absent:
            return k in defaults and current.get(k) == defaults[k]
        return old == current.get(k, absent)

    keys = sorted(set(saved) | set(current))
    return [f"{k}: {saved.get(k, '<absent>')!r} -> {current.get(k, '<absent>')!r}" for k in keys if not same(k)]
