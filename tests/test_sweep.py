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
                 plots.schedule_vs_realised({"linear": first[1]["run_dir"]}, tmp_path / "s.png")):
        assert path.stat().st_size > 5000 and path.read_bytes()[:4] == b"\x89PNG"


def test_ray_backend_runs_a_two_trial_sweep(tmp_path):
    pytest.importorskip("ray")
    configs = sweep.expand(["basic"], ["dense"], [0.0], [1, 2], str(tmp_path), TINY)
    records = sweep.run_ray(configs, cpus_per_trial=1)
    assert len(records) == 2 and all((tmp_path / c.run_name / "metrics.json").exists() for c in configs)


def _records(scenario, method, sparsity, values):
    return [{"scenario": scenario, "method": method, "final_sparsity": sparsity, "seed": i,
             "eval/utility_vs_oracle": v} for i, v in enumerate(values)]


def test_claims_on_hand_made_records():
    from marl_prune.claims import check_claims, claims_table, welch_p

    assert welch_p([0.1, 0.3], [0.15, 0.25]) == pytest.approx(1.0)
    assert welch_p([1, 1], [1, 1]) == 1.0 and welch_p([1, 1], [0, 0]) == 0.0
    # hand value: means 2 and 5, variances 1 and 1, n 3 -> t = -3 / sqrt(2/3), df = 4
    from scipy.stats import t
    assert welch_p([1, 2, 3], [4, 5, 6]) == pytest.approx(2 * t.sf(3 / (2 / 3) ** 0.5, 4))
    records = (_records("a", "dense", 0.0, [0.55, 0.60, 0.65]) + _records("a", "ippo", 0.0, [0.25, 0.30, 0.35])
               + _records("a", "linear", 0.9, [0.45, 0.50, 0.55]) + _records("a", "polynomial", 0.9, [0.35, 0.40, 0.45])
               + _records("a", "harmonic", 0.9, [0.15, 0.20, 0.25]) + _records("a", "harmonic", 0.5, [0.5, 0.7, 0.9]))
    verdicts = {v.claim: v for v in check_claims(records, {"a": {"aloha": 0.4, "adaptive": 0.45}}, high=(0.9,))}
    assert verdicts["harmonic comparable or better at 0.9"].holds is False  # far below linear
    assert "vs linear 50.0%" in verdicts["harmonic comparable or better at 0.9"].figures
    assert verdicts["sparse beats dense"].holds is None  # harmonic@0.5 higher mean, not significant
    assert "1/4 pruned means above dense" in verdicts["sparse beats dense"].figures
    assert verdicts["dense IAGC beats MADRL (IPPO)"].holds is True
    low = 0.60 - t.ppf(0.975, 2) * 0.05 / 3**0.5  # 47.6%
    conventional = verdicts["dense IAGC beats conventional baselines"]
    assert conventional.holds is True
    assert f"CI low {low:.1%}) vs best conventional adaptive 45.0%" in conventional.figures
    assert verdicts["harmonic@0.9 beats MADRL (IPPO)"].holds is None  # 20% vs 30%: t = 2.45, p = 0.07
    assert verdicts["harmonic@0.9 beats conventional baselines"].holds is False
    # noisy harmonic within reach of linear: comparable
    noisy = [r for r in records if not (r["method"] == "harmonic" and r["final_sparsity"] == 0.9)]
    noisy += _records("a", "harmonic", 0.9, [0.2, 0.5, 0.8])
    v = check_claims(noisy, {"a": {"aloha": 0.7}}, high=(0.9,))
    assert v[0].holds is True and v[3].claim == "dense IAGC beats conventional baselines"
    assert v[3].holds is False  # the 0.7 baseline is above the IAGC interval
    assert claims_table(v).count("\n") == len(v) + 2
