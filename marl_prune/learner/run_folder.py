"""A run's folder: what stage the run is at, whether it holds a given config, and who owns it.

A run is identified by its full resolved config (environment included): a folder is reused
only for the same config, and a different one is an error that names the differences. One
process at a time owns a folder, through a lock file holding its pid and host; the lock of a
process that is gone is taken over with a note on stderr.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from marl_prune.learner.config import TrainConfig, load_run_config

CHECKPOINT = Path("checkpoints") / "latest.pt"
"""Where a run folder keeps its checkpoint."""
LOCK = ".lock"
BOOKKEEPING = ("run_name", "runs_dir", "progress")
"""Fields that place or display a run without changing what it computes."""


def resolved(config: TrainConfig) -> dict[str, Any]:
    """The config as plain data with the environment fully resolved (defaults included)."""
    out = {k: v for k, v in config.to_dict().items() if k not in BOOKKEEPING}
    out["env"] = dataclasses.asdict(config.env_config())
    return json.loads(json.dumps(out))  # tuples as lists, as in config.json


def identity(config: TrainConfig) -> str:
    """A hash of :func:`resolved`: two configs that compute the same run share it."""
    return hashlib.sha256(json.dumps(resolved(config), sort_keys=True).encode()).hexdigest()[:16]


def differences(old: TrainConfig, new: TrainConfig) -> list[str]:
    """``field: old -> new`` for every resolved value that differs (``env.<field>`` for the environment)."""
    a, b = resolved(old), resolved(new)
    out = [f"env.{k}: {a['env'][k]!r} -> {b['env'][k]!r}" for k in a["env"] if a["env"][k] != b["env"][k]]
    out += [f"{k}: {a[k]!r} -> {b[k]!r}" for k in a if k != "env" and a[k] != b[k]]
    return out


class RunConflict(ValueError):
    """The folder holds a different config, or a stage that forbids what was asked."""


class RunInUse(RunConflict):
    """Another live process owns the folder (it is training that run now)."""


class RunFolder:
    """The folder of one run (it need not exist yet)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    @classmethod
    def of(cls, config: TrainConfig) -> RunFolder:
        if config.run_name is None:
            raise ValueError("this needs a named run: set run_name")
        return cls(Path(config.runs_dir) / config.run_name)

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.json"

    @property
    def checkpoint_path(self) -> Path:
        return self.path / CHECKPOINT

    def stage(self) -> str:
        """``new`` (no folder, or an empty one), ``started`` (a config but no checkpoint yet),
        ``interrupted`` (a checkpoint, no final metrics) or ``finished``."""
        for parent in [self.path, *self.path.parents]:
            if parent.exists() and not parent.is_dir():
                raise ValueError(f"{parent} is a file, not a folder: choose another run name or runs dir")
        if not self.path.exists() or not any(p.name != LOCK for p in self.path.iterdir()):
            return "new"
        if not self.config_path.is_file():
            raise ValueError(f"{self.path} is not a run folder (it has files but no config.json): "
                             "choose another run name")
        if self.metrics_path.is_file():
            return "finished"
        return "interrupted" if self.checkpoint_path.is_file() else "started"

    def config(self) -> TrainConfig:
        return load_run_config(self.path)

    def check_holds(self, config: TrainConfig) -> None:
        """Raise :class:`RunConflict` naming the differences if the folder holds another config."""
        try:
            saved = self.config()
        except ValueError as e:
            raise RunConflict(f"run folder {self.path} has an unreadable config ({e}): choose another run name, "
                              "or --overwrite to replace it") from None
        if identity(saved) != identity(config):
            raise RunConflict(f"run folder {self.path} holds another config ({'; '.join(differences(saved, config))}): "
                              "choose another run name, or --overwrite to replace it")

    def claim(self, config: TrainConfig, overwrite: bool = False) -> str:
        """The folder's :meth:`stage` for ``config``; a folder holding another config raises
        :class:`RunConflict`, or with ``overwrite`` is emptied (stage ``new``)."""
        stage = self.stage()
        if stage == "new":
            return stage
        try:
            self.check_holds(config)
        except RunConflict:
            if not overwrite:
                raise
            print(f"note: replacing {self.path}, which held another config", file=sys.stderr)
            self.clear()
            return "new"
        return stage

    def metrics(self) -> dict[str, Any]:
        """The final metrics; a damaged file raises ValueError naming it."""
        return read_json_object(self.metrics_path)

    def clear(self) -> None:
        """Delete everything in the folder but the lock (to run it again from scratch)."""
        if self.path.is_dir():
            for item in self.path.iterdir():
                if item.name != LOCK:
                    shutil.rmtree(item) if item.is_dir() and not item.is_symlink() else item.unlink()

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Own the folder while the block runs; another live owner raises :class:`RunConflict`."""
        self.stage()  # a file in the way is reported before anything is created
        with lock_folder(self.path):
            yield


def read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; an unreadable file, or one that holds anything else, raises
    ValueError naming it as damaged."""
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path} is damaged ({e})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} is damaged (not a JSON object)")
    return data


@contextlib.contextmanager
def lock_folder(folder: Path) -> Iterator[None]:
    """Own ``folder`` (created if need be) while the block runs, through a lock file holding
    this process's ``pid@host``: a live owner raises :class:`RunInUse`, a dead one's lock is
    taken over. Any folder a run writes to can use it (a run folder's :meth:`RunFolder.lock`,
    an external trainer's)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"cannot create the run folder {folder}: {e}") from None
    path, me = folder / LOCK, f"{os.getpid()}@{socket.gethostname()}"
    if _HELD.get(path) is not None:  # already ours (a nested call in this process)
        yield
        return
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            owner = path.read_text().strip() if path.exists() else ""
            if _alive(owner):
                raise RunInUse(f"run folder {folder} is in use by process {owner}; "
                               f"wait for it, or delete {path} if that process is gone") from None
            print(f"note: taking over the lock of {folder} from process {owner or '?'}, which is gone",
                  file=sys.stderr)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            continue
        with os.fdopen(fd, "w") as f:
            f.write(me)
        break
    _HELD[path] = me
    try:
        yield
    finally:
        _HELD.pop(path, None)
        with contextlib.suppress(FileNotFoundError):
            if path.read_text().strip() == me:
                path.unlink()


_HELD: dict[Path, str] = {}


def _alive(owner: str) -> bool:
    """Whether the ``pid@host`` of a lock is a live process (a lock from another host counts
    as alive: it cannot be checked from here)."""
    pid, _, host = owner.partition("@")
    if not pid.isdigit():
        return False
    if host and host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
