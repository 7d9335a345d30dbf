"""Plots of sweep results (matplotlib, PNG): learning curves with bands across seeds, utility
vs final sparsity per method with baselines as horizontal lines, and a schedule's target vs
realised sparsity."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def scalars(run_dir: str | Path, tag: str) -> tuple[np.ndarray, np.ndarray]:
    """Steps and values of one TensorBoard scalar of a run."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    if tag not in acc.Tags()["scalars"]:
        return np.zeros(0), np.zeros(0)
    events = acc.Scalars(tag)
    return np.array([e.step for e in events]), np.array([e.value for e in events])


def learning_curves(records: Sequence[dict[str, Any]], out: Path, tag: str = "charts/utility_vs_oracle",
                    scenario: str | None = None) -> Path:
    """Mean and 95% band (normal approximation) over seeds of ``tag``, one line per
    (method, sparsity), for one scenario."""
    plt = _pyplot()
    groups: dict[str, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
    for r in records:
        if scenario is not None and r["scenario"] != scenario:
            continue
        label = r["method"] if r["final_sparsity"] == 0 else f"{r['method']} s_f={r['final_sparsity']:g}"
        steps, values = scalars(r["run_dir"], tag)
        if len(steps):
            groups[label].append((steps, values))
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for label, curves in sorted(groups.items()):
        length = min(len(v) for _, v in curves)
        steps = curves[0][0][:length]
        values = np.stack([v[:length] for _, v in curves])
        mean = values.mean(0)
        band = 1.96 * values.std(0, ddof=1) / np.sqrt(len(values)) if len(values) > 1 else np.zeros_like(mean)
        line, = ax.plot(steps, mean, label=f"{label} (n={len(values)})")
        ax.fill_between(steps, mean - band, mean + band, color=line.get_color(), alpha=0.2)
    ax.set(xlabel="environment slots (summed over copies)", ylabel=tag, title=f"Learning curves {scenario or ''}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return _save(fig, out)


def utility_vs_sparsity(rows: Sequence[dict[str, Any]], out: Path, scenario: str,
                        baselines: dict[str, float] | None = None) -> Path:
    """Aggregated utility (mean +- 95% CI) against final sparsity, a line per pruning method;
    dense methods and the conventional baselines as horizontal lines."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    by_method: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if r["scenario"] == scenario:
            by_method[r["method"]].append(r)
    for method, rs in sorted(by_method.items()):
        rs = sorted(rs, key=lambda r: r["final_sparsity"])
        if len(rs) == 1 and rs[0]["final_sparsity"] == 0:
            ax.axhline(rs[0]["mean"], ls="-", lw=1.5, color="black" if method == "dense" else "grey",
                       label=f"{method} (dense)")
            continue
        ax.errorbar([r["final_sparsity"] for r in rs], [r["mean"] for r in rs],
                    yerr=[0 if np.isnan(r["ci95"]) else r["ci95"] for r in rs], marker="o", capsize=3, label=method)
    for i, (name, value) in enumerate(sorted((baselines or {}).items())):
        ax.axhline(value, ls="--", lw=1, color=f"C{7 + i % 3}", label=f"{name} (baseline)")
    ax.set(xlabel="final sparsity", ylabel=rows[0]["metric"] if rows else "", title=f"{scenario}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, out)


def schedule_vs_realised(run_dir: str | Path, out: Path) -> Path:
    """``sparsity/target`` and ``sparsity/actual`` of one pruned run over training."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for tag, style in (("sparsity/target", "-"), ("sparsity/actual", "--")):
        steps, values = scalars(run_dir, tag)
        ax.plot(steps, values, style, label=tag)
    ax.set(xlabel="environment slots", ylabel="sparsity", title=f"{Path(run_dir).name}")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, out)


def _save(fig, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    _pyplot().close(fig)
    return out
