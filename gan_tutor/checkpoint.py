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

A run folder is locked while a run trains in it (:func:`run_folder_lock`): a second trainer is refused with the
process that holds it, and the lock goes with the process that took it, so a killed trainer never leaves a
lock that blocks. Temporary files a killed writer left behind are removed when the next trainer takes the lock.
A full disk is reported as such (the previous checkpoint stays intact).

Used by ``gan_tutor.train`` (every notebook's training) and the CLI.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

try:  # POSIX; on Windows run folders are not locked
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

FORMAT_VERSION = 1
CHECKPOINT_NAME = "checkpoint.pt"
CONFIG_NAME = "config.json"


LOCK_NAME = ".lock"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used here; the message says why and what to do."""


class RunFolderBusy(CheckpointError):
    """Another process is training in this run folder."""


def _write(state: dict, f) -> None:
    """Serialise ``state`` into the open file ``f`` (separate so tests can interrupt a write).

    Serialised in memory first, so that a failed write to disk surfaces as the OSError it is (a full disk says
    ENOSPC) rather than as torch's zip writer's "file write failed".
    """
    buf = io.BytesIO()
    torch.save(state, buf)
    f.write(buf.getbuffer())


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
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFull(f"the disk holding {path.parent} is full ({os.strerror(e.errno)}): {path.name} was not "
                           "written, and an earlier version of it, if any, is intact. Free some space and run again.") from e
        raise
    _fsync_dir(path.parent)


class DiskFull(OSError):
    """A write failed because the disk (or the quota) is full; nothing half-written was left."""

    def __init__(self, message: str):
        super().__init__(errno.ENOSPC, message)

    def __str__(self) -> str:
        return self.args[1]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else (or we cannot tell: keep its files)
    return True


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Remove the ``.NAME.tmp-PID`` files that writers killed mid-write left in ``folder`` (their PID is gone)."""
    removed = []
    for tmp in Path(folder).glob(".*.tmp-*"):
        pid = tmp.name.rsplit("-", 1)[1]
        if pid.isdigit() and (int(pid) == os.getpid() or not _pid_alive(int(pid))):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


@contextlib.contextmanager
def run_folder_lock(run_dir: str | Path) -> Iterator[Path]:
    """Hold ``run_dir`` (created if needed) for one trainer; another process that asks meanwhile gets
    :class:`RunFolderBusy`. The lock is the operating system's (``flock``): it is released when the process exits,
    however it exits, so a killed trainer leaves nothing that blocks the next one."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise CheckpointError(f"{run_dir} is a file, not a folder: give the run a folder (--out runs/NAME).")
    run_dir.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover
        yield run_dir
        return
    f = open(run_dir / LOCK_NAME, "a+")
    try:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "unknown"
            raise RunFolderBusy(f"{run_dir} is being trained by another process (pid {holder}): wait for it to finish, "
                                "stop it (Ctrl-C saves), or train into another folder (--out).") from None
        except OSError:  # a file system without locks (some network mounts): train unlocked
            pass
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        remove_stale_temporaries(run_dir)
        yield run_dir
    finally:
        f.close()  # releases the lock


def save_checkpoint(path: str | Path, state: dict[str, Any], model: str) -> None:
    """Write ``state`` (tensors and plain containers only) for model ``model`` atomically."""
    payload = {"format": FORMAT_VERSION, "model": model, **state}
    atomic_write_bytes(Path(path), lambda f: _write(payload, f))


def checkpoint_path(run: str | Path) -> Path:
    """The checkpoint of a run: ``run`` is its folder, or the checkpoint file itself."""
    run = Path(run)
    return run if run.is_file() else run / CHECKPOINT_NAME


def load_checkpoint(path: str | Path, model: str | None = None) -> dict[str, Any]:
    """Load a checkpoint weights-only; check its format and, if given, that it belongs to ``model``."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}: train first (`python -m gan_tutor train ...`).")
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder: point at the checkpoint file ({path / CHECKPOINT_NAME}) or use checkpoint_path().")
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
