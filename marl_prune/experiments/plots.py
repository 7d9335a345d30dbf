"""Plots of sweep results (matplotlib, PNG): learning curves with bands across seeds, utility
vs final sparsity per method with baselines as horizontal lines, and a schedule's target vs
realised sparsity."""

from __future__ import annotations

import importlib.util
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from marl_prune.experiments.records import scalar_series
from marl_prune.experiments.stats import ci95


def can_draw() -> bool:
    """Whether matplotlib is installed (the plots are optional: the ``plot`` extra)."""
    return importlib.util.find_spec("matplotlib") is not None


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def scalars(run_dir: str | Path, tag: str) -> tuple[np.ndarray, np.ndarray]:
    """Steps and values of one scalar of a run (see :func:`~marl_prune.experiments.records.scalar_series`)."""
    return scalar_series(run_dir, [tag])[tag]


def _band(curves: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steps, mean and 95% half-width (normal approximation) of curves cut to a common length."""
    length = min(len(v) for _, v in curves)
    values = np.stack([v[:length] for _, v in curves])
    mean = values.mean(0)
    half = 1.96 * values.std(0, ddof=1) / np.sqrt(len(values)) if len(values) > 1 else np.zeros_like(mean)
    return curves[0][0][:length], mean, half


def learning_curves(records: Sequence[dict[str, Any]], out: Path, tag: str = "charts/utility_vs_oracle",
                    scenario: str | None = None, baselines: dict[str, float] | None = None) -> Path:
    """Mean and 95% band over seeds of ``tag`` for one scenario: one panel per final sparsity,
    each with that sparsity's pruning methods and the dense methods for reference, and
    ``baselines`` (name -> value on the scale of ``tag``) as horizontal lines in every panel;
    one legend for all panels, beside them."""
    plt = _pyplot()
    groups: dict[tuple[str, float], list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
    for r in records:
        if scenario is None or r["scenario"] == scenario:
            steps, values = scalars(r["run_dir"], tag)
            if len(steps):
                groups[(r["method"], float(r["final_sparsity"]))].append((steps, values))
    methods = sorted({m for m, _ in groups})
    colours = {m: f"C{i % 10}" for i, m in enumerate(methods)}
    levels = sorted({s for _, s in groups if s > 0}) or [0.0]
    cols = min(len(levels), 2)
    rows = -(-len(levels) // cols)
    width = 6 * cols + 2.5  # the last 2.5 inches hold the legend
    fig, axes = plt.subplots(rows, cols, figsize=(width, 3.8 * rows), squeeze=False, sharey=True)
    bands = {key: _band(curves) for key, curves in groups.items()}  # once: dense bands recur in every panel
    floor = _off_scale_floor(min((float(np.min(m - h)) for _, m, h in bands.values()), default=0.0),
                             max((float(np.max(m + h)) for _, m, h in bands.values()), default=1.0))
    legend: dict[str, Any] = {}
    for ax, level in zip(axes.flat, levels):
        for (method, s), curves in sorted(groups.items()):
            if s not in (0.0, level):
                continue
            steps, mean, half = bands[(method, s)]
            dense = s == 0
            ax.plot(steps, mean, color=colours[method], ls="--" if dense else "-",
                    label=f"{method}{' (dense)' if dense and method != 'dense' else ''} (n={len(curves)})")
            ax.fill_between(steps, mean - half, mean + half, color=colours[method], alpha=0.15)
        _baseline_lines(ax, baselines or {}, floor=floor)
        ax.set(xlabel="environment slots (summed over copies)", ylabel=tag,
               title=f"{scenario or ''} final sparsity {level:g}" if level else f"{scenario or ''}")
        ax.grid(alpha=0.3)
        legend.update(zip(*reversed(ax.get_legend_handles_labels())))  # label -> handle, once each
    for ax in list(axes.flat)[len(levels):]:
        ax.set_visible(False)
    fig.legend(list(legend.values()), list(legend), fontsize=7, loc="upper right", bbox_to_anchor=(1.0, 0.98))
    return _save(fig, out, rect=(0.0, 0.0, 1.0 - 2.5 / width, 1.0))


def utility_vs_sparsity(rows: Sequence[dict[str, Any]], out: Path, scenario: str,
                        baselines: dict[str, float] | None = None, policy: str = "greedy") -> Path:
    """Aggregated utility (mean +- 95% CI) against final sparsity, a line per pruning method
    (nudged sideways so the intervals stay apart); dense methods as horizontal lines with
    their interval shaded, conventional baselines dashed (listed, not drawn, when far below).
    ``policy`` names how the teams acted in evaluation ("greedy" or "sampled") on the y axis."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 4.5))
    by_method: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if r["scenario"] == scenario:
            by_method[r["method"]].append(r)
    ci = lambda r: 0.0 if np.isnan(r["ci95"]) else r["ci95"]  # noqa: E731
    pruned = [m for m, rs in sorted(by_method.items()) if any(r["final_sparsity"] > 0 for r in rs)]
    for method, rs in sorted(by_method.items()):
        rs = sorted(rs, key=lambda r: r["final_sparsity"])
        if method not in pruned:
            colour = "black" if method == "dense" else "grey"
            label = method if method == "dense" else f"{method} (dense)"
            ax.axhline(rs[0]["mean"], ls="-", lw=1.5, color=colour, label=label)
            ax.axhspan(rs[0]["mean"] - ci(rs[0]), rs[0]["mean"] + ci(rs[0]), color=colour, alpha=0.12)
            continue
        nudge = 0.006 * (pruned.index(method) - (len(pruned) - 1) / 2)
        ax.errorbar([r["final_sparsity"] + nudge for r in rs], [r["mean"] for r in rs],
                    yerr=[ci(r) for r in rs], marker="o", ms=4, capsize=3, label=method)
    shown = [r["mean"] + k * ci(r) for rs in by_method.values() for r in rs for k in (-1, 1)]
    _baseline_lines(ax, baselines or {}, floor=_off_scale_floor(min(shown, default=0.0), max(shown, default=1.0)))
    ax.set(xlabel="final sparsity", ylabel=f"{rows[0]['metric'] if rows else ''} ({policy})", title=scenario)
    ax.yaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0))
    ax.grid(alpha=0.3)
    _legend_beside(ax)
    return _save(fig, out)


BASELINE_COLOURS = ("#555555", "#8c564b", "#bcbd22", "#17becf", "#e377c2", "#7f7f7f", "#9467bd")
BASELINE_DASHES = ((0, (6, 2)), (0, (2, 2)), (0, (6, 2, 2, 2)), (0, (10, 3)), (0, (1, 1)))


def _off_scale_floor(low: float, high: float) -> float:
    """Where a baseline counts as far below what a plot draws (from ``low`` to ``high``): as far
    under ``low`` as the drawn values span, at least 0.05."""
    return low - max(high - low, 0.05)


def _baseline_lines(ax: Any, baselines: dict[str, float], floor: float = -np.inf) -> None:
    """The conventional baselines as horizontal lines, each with its own colour and dash and
    its value in the label, listed from the highest down; one below ``floor`` (far below the
    methods: drawing it would flatten everything else) is listed as off scale, not drawn."""
    ranked = sorted(baselines.items(), key=lambda kv: -kv[1])
    for i, (name, value) in enumerate(ranked):
        style = {"lw": 1.2, "color": BASELINE_COLOURS[i % len(BASELINE_COLOURS)],
                 "ls": BASELINE_DASHES[i % len(BASELINE_DASHES)]}
        if value < floor:
            ax.plot([], [], label=f"{name} {value:.1%} (baseline, off scale)", **style)
        else:
            ax.axhline(value, label=f"{name} {value:.1%} (baseline)", **style)


def _legend_beside(ax: Any) -> None:
    """The legend to the right of the axes, where it hides no line."""
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


def score_vs_width(scores: dict[int, list[float]], out: Path, scenario: str,
                   baselines: dict[str, float] | None = None) -> Path:
    """Score (mean +- 95% CI over seeds) against the actor width, on a log2 axis; conventional
    baselines dashed."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    widths = list(scores)
    ax.errorbar(widths, [np.mean(v) for v in scores.values()], yerr=[np.nan_to_num(ci95(v)) for v in scores.values()],
                marker="o", capsize=3, color="black", label="dense IAGC")
    _baseline_lines(ax, baselines or {})
    ax.set_xscale("log", base=2)
    ax.set_xticks(widths, [str(w) for w in widths])
    ax.set(xlabel="actor width (hidden units)", ylabel="score vs the centralised reference", title=scenario)
    ax.yaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0))
    ax.grid(alpha=0.3)
    _legend_beside(ax)
    return _save(fig, out)


def schedule_vs_realised(runs: dict[str, str | Path], out: Path, title: str = "") -> Path:
    """``sparsity/target`` (solid) and ``sparsity/actual`` (dashed) over training, for runs
    given by label."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (label, run_dir) in enumerate(runs.items()):
        series = scalar_series(run_dir, ["sparsity/target", "sparsity/actual"])
        for tag, style in (("sparsity/target", "-"), ("sparsity/actual", "--")):
            steps, values = series[tag]
            ax.plot(steps, values, style, color=f"C{i}", label=f"{label} {tag.split('/')[1]}")
    ax.set(xlabel="environment slots (summed over copies)", ylabel="actor sparsity", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, out)


def _save(fig, out: Path, rect: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)) -> Path:
    """Save ``fig`` to ``out``, its axes laid out within ``rect`` (figure fractions: what is
    left outside holds a figure legend)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout(rect=rect)
    fig.savefig(out, dpi=110)
    _pyplot().close(fig)
    return out


def plot_waterfalls(panels: dict[str, np.ndarray], n_users: int, path: str | Path) -> Path:
    """Waterfall images (:func:`envs.dsa.waterfall.waterfall_image`) stacked, one per title in
    ``panels``, with a legend of the users' colours, collisions, failures and primary users."""
    from matplotlib.patches import Patch

    from envs.dsa.waterfall import BLANK, CELL, COLLISION, PALE, PU_HATCH, user_colour

    plt = _pyplot()
    cell_h, cell_w = CELL
    channels = max(image.shape[0] for image in panels.values()) / cell_h
    height = len(panels) * (0.25 * channels + 0.9) + 0.5
    fig, axes = plt.subplots(len(panels), 1, figsize=(12, height), squeeze=False)
    for ax, (title, image) in zip(axes[:, 0], panels.items()):
        ax.imshow(image, aspect="auto", interpolation="nearest")
        ax.set_title(title, fontsize=9, loc="left")
        rows = image.shape[0] // cell_h
        step = max(1, rows // 8)  # at most about 8 channel labels
        ax.set_yticks([(k + 0.5) * cell_h for k in range(0, rows, step)], [f"ch{k}" for k in range(0, rows, step)])
        ax.set_xlabel("slot")
        ticks = np.arange(0, image.shape[1] // cell_w + 1, 10)
        ax.set_xticks(ticks * cell_w, [str(t) for t in ticks])
    handles = [Patch(color=user_colour(i) / 255, label=f"user {i}") for i in range(min(n_users, 20))]
    handles += [Patch(color=(PALE * user_colour(0) + (1 - PALE) * BLANK) / 255, label="failed (pale)"),
                Patch(color=COLLISION / 255, label="collision"), Patch(color=PU_HATCH / 255, label="primary user ON")]
    ncol = min(len(handles), 12)
    fig.legend(handles=handles, loc="lower center", ncol=ncol, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.25 * -(-len(handles) // ncol) / height, 1, 1))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
