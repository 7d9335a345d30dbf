"""Sweeps: expansion, skip and resume, aggregation by hand, plots, the Ray backend."""

import json

import pytest

from marl_prune import plots, sweep
from marl_prune.runs import CHECKPOINT

TINY = {"iterations": 2, "num_envs": 4, "num_steps": 20, "bptt_chunk": 10, "hidden_size": 16,
        "critic_hidden": 16, "eval_episodes": 4, "eval_every": 0, "env": {"max_cycles": 20},
        "prune_warmup": 0, "prune_end_lock": 1, "checkpoint_every": 1}


def test_expand_counts_and_names(tmp_path):
    configs = sweep.expand(["basic", "snr"], ["dense", "ippo", "linear", "harmonic"], [0.5, 0.9], [1, 2],
                           str(tmp_path), TINY)
    assert len(configs) == 2 * (2 * 2 + 2 * 2 * 2)  # dense methods take no sparsity
    names = [c.run_name for c in configs]
    assert len(set(names)) == len(names) and "snr__harmonic__sf0.9__s2" in names
    assert sweep.describe(configs[-1]) == {"scenario": "snr", "method": "harmonic", "final_sparsity": 0.9, "seed": 2}
    with pytest.raises(ValueError, match="unknown method"):
        sweep.expand(["basic"], ["cubic"], [0.5], [1], str(tmp_path))


def test_aggregate_by_hand():
    records = [{"scenario": "basic", "method": "linear", "final_sparsity": 0.9, "seed": s, "eval/utility_vs_oracle": v}
               for s, v in zip((1, 2, 3), (0.5, 0.7, 0.9))]
    records.append({"scenario": "basic", "method": "dense", "final_sparsity": 0.0, "seed": 1,
                    "eval/utility_vs_oracle": 1.0})
    rows = sweep.aggregate(records)
    linear = next(r for r in rows if r["method"] == "linear")
    assert linear["n"] == 3 and linear["mean"] == pytest.approx(0.7)
    assert linear["ci95"] == pytest.approx(4.302653 * 0.2 / 3**0.5, rel=1e-5)  # t(0.975, 2) s / sqrt(n)
    dense = next(r for r in rows if r["method"] == "dense")
    assert dense["n"] == 1 and dense["ci95"] != dense["ci95"]  # NaN: no interval from one seed


def test_sweep_skips_finished_runs_and_resumes(tmp_path):
    configs = sweep.expand(["basic"], ["dense", "linear"], [0.75], [1], str(tmp_path), TINY)
    first = sweep.run_local(configs, workers=1)
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("latest.pt")}
    again = sweep.run_local(configs, workers=1)
    assert again == first
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("latest.pt")} == stamps  # nothing retrained
    # an interrupted run (checkpoint but no metrics) is resumed, not restarted
    run = tmp_path / configs[1].run_name
    (run / "metrics.json").unlink()
    resumed = sweep.run_local(configs, workers=1)
    assert resumed[1]["eval/utility"] == first[1]["eval/utility"]
    assert (run / CHECKPOINT).exists() and json.loads((run / "metrics.json").read_text())
    rows = sweep.aggregate(first)
    csv_path, md_path = sweep.write_tables(rows, tmp_path / "out")
    assert "basic | linear | 0.75 | 1" in md_path.read_text() and csv_path.read_text().startswith("scenario,")
    for path in (plots.utility_vs_sparsity(rows, tmp_path / "u.png", "basic", {"aloha": 0.4}),
                 plots.learning_curves(first, tmp_path / "l.png", scenario="basic"),
                 plots.schedule_vs_realised(first[1]["run_dir"], tmp_path / "s.png")):
        assert path.stat().st_size > 5000 and path.read_bytes()[:4] == b"\x89PNG"


def test_ray_backend_runs_a_two_trial_sweep(tmp_path):
    pytest.importorskip("ray")
    configs = sweep.expand(["basic"], ["dense"], [0.0], [1, 2], str(tmp_path), TINY)
    records = sweep.run_ray(configs, cpus_per_trial=1)
    assert len(records) == 2 and all((tmp_path / c.run_name / "metrics.json").exists() for c in configs)
