"""A finished run's record: its config, final metrics and the training curves the reports
draw, in one small JSON file (``<records>/<run_name>.json``).

Run folders hold checkpoints and TensorBoard files and stay on the machine that trained them.
Records are small enough to commit, so a sweep spread over several checkouts or machines
finds its finished runs in them: :func:`restore` rebuilds a run folder from a record (its
config, metrics and curves; no checkpoint), which the sweep then reads as finished, and
:func:`scalar_series` reads the curves of either kind of folder.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from marl_prune.learner.config import config_from_saved, write_atomically
from marl_prune.learner.run_folder import RunFolder, identity, read_json_object

CURVE_TAGS = ("charts/utility_vs_oracle", "sparsity/target", "sparsity/actual")
"""The training curves a record keeps: those the sweep reports draw."""
CURVES = "curves.json"
"""The file of a restored run folder that stands in for its TensorBoard event files."""


def scalar_series(run_dir: str | Path, tags: Sequence[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Steps and values of several scalars of a run, from one read of its TensorBoard event
    files, or of its ``curves.json`` if it was restored from a record (empty arrays for a tag
    the run did not log or the record did not keep)."""
    curves_file = Path(run_dir) / CURVES
    if curves_file.is_file():
        curves = read_json_object(curves_file)
        return {tag: (np.array(curves[tag]["steps"], dtype=int), np.array(curves[tag]["values"], dtype=float))
                if tag in curves else (np.array([], dtype=int), np.array([], dtype=float)) for tag in tags}
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    logged = set(acc.Tags()["scalars"])
    series = {}
    for tag in tags:
        events = acc.Scalars(tag) if tag in logged else []
        series[tag] = (np.array([e.step for e in events]), np.array([e.value for e in events], dtype=float))
    return series


def record_path(records: Path | str, run_name: str) -> Path:
    """Where the record of the run ``run_name`` lives in the folder ``records``."""
    return Path(records) / f"{run_name}.json"


def save(run_dir: Path | str, records: Path | str) -> Path:
    """Write the record of the finished run in ``run_dir`` to ``records``; returns its path.
    Values keep 6 significant digits, so saving a restored run writes the same file."""
    folder = RunFolder(run_dir)
    if folder.stage() != "finished":
        raise ValueError(f"{run_dir} has not finished: only a finished run has a record")
    curves = {tag: {"steps": [int(s) for s in steps], "values": [float(f"{v:.6g}") for v in values]}
              for tag, (steps, values) in scalar_series(run_dir, CURVE_TAGS).items() if len(steps)}
    record = {"config": read_json_object(folder.config_path), "metrics": folder.metrics(), "curves": curves}
    path = record_path(records, folder.path.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(record, indent=1, sort_keys=True, default=float) + "\n")
    return path


def restore(run_dir: Path | str, records: Path | str) -> bool:
    """Rebuild the run folder ``run_dir`` from its record in ``records``, if there is one and
    the folder has not finished; returns whether it did. An unfinished folder is replaced only
    if it holds the record's config (the record is then its finished result); one that holds
    another config is left for the sweep's claim to report. Whether the record holds the
    config a sweep asks for is checked as for any run folder, when the sweep claims it."""
    folder = RunFolder(run_dir)
    path = record_path(records, folder.path.name)
    stage = folder.stage()
    if not path.is_file() or stage == "finished":
        return False
    record = read_json_object(path)
    if not {"config", "metrics", "curves"} <= record.keys():
        raise ValueError(f"{path} is not a run record (it needs config, metrics and curves)")
    with folder.lock():
        if stage != "new":
            try:
                held = identity(folder.config())
            except ValueError:
                return False
            if held != identity(config_from_saved(record["config"])):
                return False
            folder.clear()
        write_atomically(folder.config_path, json.dumps(record["config"], indent=2) + "\n")
        write_atomically(folder.path / CURVES, json.dumps(record["curves"]) + "\n")
        write_atomically(folder.metrics_path, json.dumps(record["metrics"], indent=2) + "\n")  # last: now finished
    return True
