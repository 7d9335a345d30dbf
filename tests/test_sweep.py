"""Sweeps: expansion, skip and resume, aggregation by hand, tables, baselines, plots, the Ray backend."""

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from marl_prune.experiments import plots
from marl_prune.experiments.backends import Backend, SweepIncomplete, run_local, run_ray
from marl_prune.experiments.grid import coordinates, expand
from marl_prune.experiments.report import _evaluation_setups, baseline_fractions, relative_means, write_tables
from marl_prune.experiments.stats import aggregate, natural_key
from marl_prune.learner.config import TrainConfig, load_run_config
from marl_prune.learner.runs import CHECKPOINT

TINY = {"iterations": 2, "num_envs": 4, "num_steps": 20, "bptt_chunk": 10, "hidden_size": 16,
        "critic_hidden": 16, "eval_episodes": 4, "eval_every": 0, "env": {"max_cycles": 20},
        "prune_warmup": 0, "prune_end_lock": 1, "checkpoint_every": 1}


def test_expand_counts_and_names(tmp_path):
    configs = expand(["basic", "snr"], ["dense", "ippo", "linear", "harmonic"], [0.5, 0.9], [1, 2],
                           str(tmp_path), TINY)
    assert len(configs) == 2 * (2 * 2 + 2 * 2 * 2)  # dense methods take no sparsity
    names = [c.run_name for c in configs]
    assert len(set(names)) == len(names) and "snr__harmonic__sf0.9__s2" in names
    assert coordinates(configs[-1]) == {"scenario": "snr", "method": "harmonic", "final_sparsity": 0.9, "seed": 2}
    assert coordinates(configs[0]) == {"scenario": "basic", "method": "dense", "final_sparsity": 0.0, "seed": 1}
    assert configs[-1].changed() == {"label": "harmonic", "scenario": "snr", "seed": 2, "run_name": names[-1],
                                     "runs_dir": str(tmp_path), "progress": False, "prune_schedule": "harmonic",
                                     **{k: v for k, v in TINY.items() if k not in ("prune_warmup", "prune_end_lock")},
                                     "prune_end_lock": 1}  # the warm-up 0 is the default for 2 iterations
    with pytest.raises(ValueError, match="unknown method"):
        expand(["basic"], ["cubic"], [0.5], [1], str(tmp_path))


def test_aggregate_by_hand():
    records = [{"scenario": "basic", "method": "linear", "final_sparsity": 0.9, "seed": s, "eval/score_vs_reference": v}
               for s, v in zip((1, 2, 3), (0.5, 0.7, 0.9))]
    records.append({"scenario": "basic", "method": "dense", "final_sparsity": 0.0, "seed": 1,
                    "eval/score_vs_reference": 1.0})
    rows = aggregate(records)
    linear = next(r for r in rows if r["method"] == "linear")
    assert linear["n"] == 3 and linear["mean"] == pytest.approx(0.7)
    assert linear["ci95"] == pytest.approx(4.302653 * 0.2 / 3**0.5, rel=1e-5)  # t(0.975, 2) s / sqrt(n)
    dense = next(r for r in rows if r["method"] == "dense")
    assert dense["n"] == 1 and dense["ci95"] != dense["ci95"]  # NaN: no interval from one seed
    assert linear["actual_sparsity"] == 0.0 and linear["training_runs"] == 1  # absent: dense, one run
    assert relative_means(rows, "dense") == pytest.approx([1.0, 0.7])  # sorted: dense, then linear


def test_tables_relative_to_a_method(tmp_path):
    records = [{"scenario": "a", "method": m, "final_sparsity": s, "seed": 1, "eval/score_vs_reference": v,
                "sparsity/actual": s, "training_runs": runs}
               for m, s, v, runs in (("dense", 0.0, 0.8, 1), ("imp", 0.9, 0.6, 3))]
    records.append({"scenario": "b", "method": "imp", "final_sparsity": 0.9, "seed": 1, "eval/score_vs_reference": 0.5})
    _, md = write_tables(aggregate(records), tmp_path, relative_to="dense")
    lines = md.read_text().splitlines()
    assert lines[0].endswith("| training runs | dense = 100% |")
    assert lines[2] == "| a | dense | 0 | 1 | 0.800 | +- nan | 0.000 | 1 | 100.0% |"
    assert lines[3] == "| a | imp | 0.9 | 1 | 0.600 | +- nan | 0.900 | 3 | 75.0% |"
    assert lines[4].endswith("| nan% |")  # no dense run on b


def test_baselines_are_evaluated_on_each_runs_environment_and_episodes():
    from envs.dsa import SlottedAloha, evaluate
    from marl_prune.learner.evaluation import oracle_utility

    bare = TrainConfig(scenario="basic", eval_episodes=4)
    changed = TrainConfig(scenario="basic", eval_episodes=4, env={"n_users": 6, "max_cycles": 20})
    fractions = baseline_fractions(changed)
    random_access = evaluate(SlottedAloha(1.0), changed.env_config(), 4, seed=changed.eval_seed).mean()
    assert fractions["random"] == pytest.approx(random_access / oracle_utility(changed))
    assert fractions != baseline_fractions(bare)
    _evaluation_setups([bare, TrainConfig(scenario="basic", eval_episodes=4, seed=2), TrainConfig(scenario="snr")])
    with pytest.raises(ValueError, match="evaluated on different environments"):
        _evaluation_setups([bare, changed])
    with pytest.raises(ValueError, match="policies \\(greedy / sampled\\)"):  # a greedy and a sampled team
        _evaluation_setups([bare, TrainConfig(scenario="basic", eval_episodes=4, eval_greedy=False)])


def test_sweep_skips_finished_runs_and_resumes(tmp_path):
    configs = expand(["basic"], ["dense", "linear"], [0.75], [1], str(tmp_path), TINY)
    first = run_local(configs, workers=1)
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("latest.pt")}
    again = run_local(configs, workers=1)
    assert again == first
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("latest.pt")} == stamps  # nothing retrained
    # an interrupted run (checkpoint but no metrics) is resumed, not restarted
    run = tmp_path / configs[1].run_name
    (run / "metrics.json").unlink()
    resumed = run_local(configs, workers=1)
    assert resumed[1]["eval/utility"] == first[1]["eval/utility"]
    assert (run / CHECKPOINT).exists() and json.loads((run / "metrics.json").read_text())
    # coordinates come from the runs' config.json, not from their folder names
    assert [load_run_config(r["run_dir"]).label for r in first] == ["dense", "linear"] == [r["method"] for r in first]
    rows = aggregate(first)
    csv_path, md_path = write_tables(rows, tmp_path / "out")
    assert "basic | linear | 0.75 | 1" in md_path.read_text() and csv_path.read_text().startswith("scenario,")
    for path in (plots.utility_vs_sparsity(rows, tmp_path / "u.png", "basic", {"aloha": 0.4}),
                 plots.learning_curves(first, tmp_path / "l.png", scenario="basic"),
                 plots.schedule_vs_realised({"linear": first[1]["run_dir"]}, tmp_path / "s.png")):
        assert path.stat().st_size > 5000 and path.read_bytes()[:4] == b"\x89PNG"


def test_baseline_lines_are_told_apart_and_ranked():
    """Each baseline its own colour and dash, labelled with its value, highest first; one far
    below the methods is listed as off scale but not drawn."""
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    plots._baseline_lines(ax, {"aloha": 0.1, "tdma": 0.39, "fixed": 0.05, "backoff": -3.0}, floor=-1.0)
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["tdma 39.0% (baseline)", "aloha 10.0% (baseline)", "fixed 5.0% (baseline)",
                      "backoff -300.0% (baseline, off scale)"]
    drawn = [line for line in ax.lines if len(line.get_ydata())]
    assert [line.get_ydata()[0] for line in drawn] == [0.39, 0.1, 0.05]  # backoff: not drawn
    assert len({(line.get_color(), str(line.get_linestyle())) for line in ax.lines}) == 4
    plt.close(fig)


def test_learning_curves_draw_the_baselines_in_every_panel_under_one_legend(monkeypatch):
    pytest.importorskip("matplotlib")
    records = [{"scenario": "a", "method": m, "final_sparsity": s, "run_dir": f"{m}{s}"}
               for m, s in (("dense", 0.0), ("linear", 0.9), ("linear", 0.95), ("imp", 0.9))]
    monkeypatch.setattr(plots, "scalars", lambda run_dir, tag: (np.arange(5), np.linspace(0.0, 0.5, 5)))
    saved = []
    monkeypatch.setattr(plots, "_save", lambda fig, out, rect=(0, 0, 1, 1): saved.append((fig, rect)) or out)
    plots.learning_curves(records, Path("unused.png"), scenario="a", baselines={"tdma": 0.4})
    fig, rect = saved[0]
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["a final sparsity 0.9", "a final sparsity 0.95"]
    for ax in panels:  # the baseline in each panel, at its value; no legend of its own
        assert [line.get_ydata()[0] for line in ax.lines if line.get_label() == "tdma 40.0% (baseline)"] == [0.4]
        assert ax.get_legend() is None
    # one legend, each entry once (imp only at 0.9), in the strip the axes leave free
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "dense (n=1)", "imp (n=1)", "linear (n=1)", "tdma 40.0% (baseline)"]
    assert rect[2] < 1.0


def test_sweep_reruns_a_changed_run_and_reuses_an_unchanged_one(tmp_path):
    configs = expand(["basic"], ["dense", "linear"], [0.75], [1], str(tmp_path), TINY)
    first = run_local(configs, workers=1)
    stamps = {c.run_name: (tmp_path / c.run_name / "metrics.json").stat().st_mtime_ns for c in configs}
    changed = [configs[0], dataclasses.replace(configs[1], iterations=3)]
    with pytest.raises(SweepIncomplete, match=r"linear__sf0.75__s1 holds another config \(iterations: 2 -> 3\)") as e:
        run_local(changed, workers=1)
    assert [r["run_dir"] for r in e.value.records] == [first[0]["run_dir"]]  # the unchanged run still reported
    second = run_local(changed, workers=1, overwrite=True)
    assert second[0] == first[0] and (tmp_path / configs[0].run_name / "metrics.json").stat().st_mtime_ns == \
        stamps[configs[0].run_name]  # reused
    assert second[1]["global_step"] == first[1]["global_step"] * 3 // 2  # rerun with 3 iterations
    assert load_run_config(second[1]["run_dir"]).iterations == 3


def test_a_sweep_goes_on_past_a_busy_and_a_failed_run_and_names_them(tmp_path, capfd):
    import os
    import socket

    configs = expand(["basic"], ["dense", "linear", "polynomial"], [0.75], [1], str(tmp_path), TINY)
    busy, broken = (tmp_path / c.run_name for c in configs[:2])
    busy.mkdir()
    (busy / ".lock").write_text(f"{os.getpid()}@{socket.gethostname()}")  # a live process owns it
    broken.mkdir()
    (broken / "stray.txt").write_text("not a run")  # files but no config.json
    with pytest.raises(SweepIncomplete) as e:
        run_local(configs, workers=1)
    assert [r["method"] for r in e.value.records] == ["polynomial"]  # the third run trained all the same
    assert e.value.problems[0].startswith(f"skipped {busy}: RunInUse: run folder {busy} is in use by process")
    assert e.value.problems[1] == (f"failed {broken}: ValueError: {broken} is not a run folder (it has files but "
                                   "no config.json): choose another run name")
    err = capfd.readouterr().err
    assert "sweep: 3/3 ended (1 trained, 0 reused, 1 skipped, 1 failed), 0 running; nothing left to train" in err
    # run again once the owner is gone and the stray file removed: the trained run is reused
    (busy / ".lock").unlink()
    (broken / "stray.txt").unlink()
    records = run_local(configs, workers=1)
    assert [r["method"] for r in records] == ["dense", "linear", "polynomial"]
    assert "sweep: 3/3 ended (2 trained, 1 reused, 0 skipped, 0 failed), 0 running; nothing left to train" in \
        capfd.readouterr().err


def test_a_run_another_process_finished_during_the_sweep_is_read_at_its_end(tmp_path, monkeypatch):
    """Two processes share a sweep: the one that ends last must see every run, including those
    it skipped while the other was training them, or no process would go on to what follows."""
    import os
    import socket

    from marl_prune.experiments import backends

    configs = expand(["basic"], ["dense", "linear"], [0.75], [1], str(tmp_path / "runs"), TINY)
    records_dir = tmp_path / "records"
    busy = Path(configs[0].runs_dir) / configs[0].run_name
    busy.mkdir(parents=True)
    (busy / ".lock").write_text(f"{os.getpid()}@{socket.gethostname()}")  # the other process owns it
    real_run_one = backends.run_one

    def run_one(config, overwrite=False, records=None):
        if config.run_name == configs[1].run_name:  # meanwhile the other process finishes the busy run
            (busy / ".lock").unlink()
            real_run_one(configs[0], records=records)
        return real_run_one(config, overwrite, records)

    monkeypatch.setattr(backends, "run_one", run_one)
    done = backends.run_local(configs, workers=1, records_dir=records_dir)
    assert [r["method"] for r in done] == ["dense", "linear"]
    assert sorted(p.name for p in records_dir.iterdir()) == sorted(f"{c.run_name}.json" for c in configs)


def test_sweep_report_names_the_runs_that_did_not_finish(tmp_path):
    from marl_prune.experiments.report import run_and_report

    configs = expand(["basic"], ["dense", "linear"], [0.75], [1], str(tmp_path / "runs"), TINY)
    broken = tmp_path / "runs" / configs[1].run_name
    broken.mkdir(parents=True)
    (broken / "stray.txt").write_text("not a run")
    with pytest.raises(SweepIncomplete, match="1 of 2 runs did not finish"):
        run_and_report(configs, Backend(workers=1), tmp_path / "out", "t")
    readme = (tmp_path / "out" / "README.md").read_text()
    assert "**Incomplete:** 1 of 2 runs did not finish" in readme and f"- failed {broken}: ValueError" in readme
    assert "| basic | dense |" in readme


def test_report_only_reads_the_finished_runs_and_trains_nothing(tmp_path, capfd):
    from marl_prune.experiments.report import run_and_report

    configs = expand(["basic"], ["dense", "linear"], [0.75], [1], str(tmp_path / "runs"), TINY)
    run_local(configs[:1], workers=1)
    records = run_and_report(configs, Backend(workers=1, report_only=True), tmp_path / "out", "t")  # no raise
    assert [r["method"] for r in records] == ["dense"]
    assert not (tmp_path / "runs" / configs[1].run_name).exists()  # not started
    readme = (tmp_path / "out" / "README.md").read_text()
    assert "**Incomplete:** 1 of 2 runs did not finish" in readme
    assert f"- not finished: {tmp_path / 'runs' / configs[1].run_name}" in readme and "| basic | dense |" in readme
    assert "report only: 1 of 2 runs have finished" in capfd.readouterr().err


def test_training_progress_shows_the_time_left(capfd):
    from marl_prune.learner.runs import Progress, duration

    assert [duration(s) for s in (5, 65, 3725)] == ["5s", "1m05s", "1h02m"]
    progress = Progress(10, first=4)  # a run resumed at iteration 4
    progress.start -= 20.0  # 2 iterations done in 20 s: 10 s each, 4 left
    progress.update(6, 1000.0, 1.0, 0.5)
    assert "20s elapsed, ETA 40s" in capfd.readouterr().err


def test_a_damaged_metrics_file_is_named_and_the_run_evaluated_again(tmp_path, capfd):
    configs = expand(["basic"], ["dense"], [0.0], [1], str(tmp_path), TINY)
    first = run_local(configs, workers=1)
    metrics = tmp_path / configs[0].run_name / "metrics.json"
    metrics.write_text("{broken")
    again = run_local(configs, workers=1)
    assert again == first and json.loads(metrics.read_text())["eval/utility"] == first[0]["eval/utility"]
    assert f"{metrics} is damaged" in capfd.readouterr().err


def test_report_without_matplotlib_skips_the_plots_and_keeps_the_tables(tmp_path, monkeypatch):
    import importlib.util

    from marl_prune.experiments.report import run_and_report

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else
                        find_spec(name, *a))
    configs = expand(["basic"], ["dense"], [0.0], [1], str(tmp_path / "runs"), TINY)
    run_and_report(configs, Backend(workers=1), tmp_path / "out", "t")
    readme = (tmp_path / "out" / "README.md").read_text()
    assert "Plots skipped: matplotlib is not installed" in readme and "| basic | dense | 0 | 1 |" in readme
    assert not list((tmp_path / "out").glob("*.png"))


def test_ray_backend_runs_a_two_trial_sweep(tmp_path):
    pytest.importorskip("ray")
    configs = expand(["basic"], ["dense"], [0.0], [1, 2], str(tmp_path), TINY)
    records = run_ray(configs, cpus_per_trial=1)
    assert len(records) == 2 and all((tmp_path / c.run_name / "metrics.json").exists() for c in configs)


def _records(scenario, method, sparsity, values):
    return [{"scenario": scenario, "method": method, "final_sparsity": sparsity, "seed": i,
             "eval/score_vs_reference": v} for i, v in enumerate(values)]


def test_every_configuration_against_dense_by_hand():
    from scipy.stats import t

    from marl_prune.experiments.claims import against_dense_table

    records = (_records("a", "dense", 0.0, [0.55, 0.60, 0.65]) + _records("a", "linear", 0.9, [0.45, 0.50, 0.55])
               + _records("a", "harmonic", 0.9, [0.15, 0.20, 0.25]) + _records("b", "linear", 0.9, [0.1, 0.2]))
    lines = against_dense_table(records).splitlines()
    assert len(lines) == 4  # header, rule, a's two configurations; b has no dense and no rows
    se = (2 * 0.05**2 / 3) ** 0.5  # equal spreads, n = 3: df = 4
    p_linear = 2 * t.sf(0.10 / se, 4)  # 0.07: above the Bonferroni threshold 0.05 / 2
    detectable = (t.ppf(1 - 0.025 / 2, 4) + t.ppf(0.8, 4)) * se
    assert lines[3] == (f"| a | linear@0.9 | 3 | 50.0% | 60.0% | -10.0% | {p_linear:.2g} | "
                        f"no (detectable: {detectable:.1%}) |")
    assert lines[2].startswith("| a | harmonic@0.9 | 3 | 20.0% | 60.0% | -40.0% |") and lines[2].endswith("| yes |")


def test_claims_on_hand_made_records():
    from marl_prune.experiments.claims import check_claims, claims_table
    from marl_prune.experiments.stats import welch_p

    assert welch_p([0.1, 0.3], [0.15, 0.25]) == pytest.approx(1.0)
    assert welch_p([1, 1], [1, 1]) == 1.0 and welch_p([1, 1], [0, 0]) == 0.0
    # hand value: means 2 and 5, variances 1 and 1, n 3 -> t = -3 / sqrt(2/3), df = 4
    from scipy.stats import t
    assert welch_p([1, 2, 3], [4, 5, 6]) == pytest.approx(2 * t.sf(3 / (2 / 3) ** 0.5, 4))
    # detectable difference by hand: variances 2.5 and 10, n 5 -> se^2 = 0.5 + 2 = 2.5,
    # df = 2.5^2 / (0.5^2 / 4 + 2^2 / 4) = 5.88
    from marl_prune.experiments.stats import detectable_difference
    df = 2.5**2 / (0.5**2 / 4 + 2**2 / 4)
    assert detectable_difference([0, 1, 2, 3, 4], [0, 2, 4, 6, 8]) == pytest.approx(
        (t.ppf(0.975, df) + t.ppf(0.8, df)) * 2.5**0.5)
    assert detectable_difference([1, 1], [2, 2]) == 0.0 and math.isnan(detectable_difference([1], [2, 3]))
    records = (_records("a", "dense", 0.0, [0.55, 0.60, 0.65]) + _records("a", "ippo", 0.0, [0.25, 0.30, 0.35])
               + _records("a", "linear", 0.9, [0.45, 0.50, 0.55]) + _records("a", "polynomial", 0.9, [0.35, 0.40, 0.45])
               + _records("a", "harmonic", 0.9, [0.15, 0.20, 0.25]) + _records("a", "harmonic", 0.5, [0.5, 0.7, 0.9])
               + _records("a", "random", 0.9, [0.0, 0.05, 0.10]))
    verdicts = {v.claim: v for v in check_claims(records, {"a": {"aloha": 0.4, "adaptive": 0.45}}, high=(0.9,))}
    # random (5%) against the lowest magnitude schedule (harmonic, 20%): t = 0.15 / sqrt(2 * 0.05^2 / 3), df 4
    random_below = verdicts["random pruning below magnitude at 0.9"]
    assert random_below.holds is True and "random 5.0% vs the lowest magnitude schedule, harmonic 20.0%" in (
        random_below.figures) and f"p={2 * t.sf(0.15 / (2 * 0.05**2 / 3) ** 0.5, 4):.2f})" in random_below.figures
    separate = verdicts["schedules separate at 0.9"]  # linear 50% vs harmonic 20%: p = 0.002 < 0.05 / 3
    assert separate.holds is True and "highest linear 50.0% vs lowest harmonic 20.0%" in separate.figures
    p_separate = 2 * t.sf(0.30 / (2 * 0.05**2 / 3) ** 0.5, 4)  # below 0.01: written 1.8e-03, not 0.00
    assert f"(p={p_separate:.1e}; Bonferroni over 3 pairs)" in separate.figures
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
    # what the 3 seeds could have detected: equal variances 0.05^2, df 4, se sqrt(2 * 0.05^2 / 3)
    detectable = (t.ppf(0.975, 4) + t.ppf(0.8, 4)) * (2 * 0.05**2 / 3) ** 0.5  # 15.2%
    assert f"(p=0.07; detectable: {detectable:.1%} or more)" in verdicts["harmonic@0.9 beats MADRL (IPPO)"].figures
    assert "detectable" not in verdicts["dense IAGC beats MADRL (IPPO)"].figures  # significant: nothing to bound
    assert verdicts["harmonic@0.9 beats conventional baselines"].holds is False
    # noisy harmonic within reach of linear: comparable
    noisy = [r for r in records if not (r["method"] == "harmonic" and r["final_sparsity"] == 0.9)]
    noisy += _records("a", "harmonic", 0.9, [0.2, 0.5, 0.8])
    v = check_claims(noisy, {"a": {"aloha": 0.7}}, high=(0.9,))
    assert v[0].holds is True and v[3].claim == "dense IAGC beats conventional baselines"
    assert v[3].holds is False  # the 0.7 baseline is above the IAGC interval
    # polynomial 40% against the noisy harmonic's 50%: the schedules do not separate
    assert {x.claim: x for x in v}["schedules separate at 0.9"].holds is None
    assert claims_table(v).count("\n") == len(v) + 2



def test_the_literature_methods_are_checked_against_what_they_build_on():
    from marl_prune.experiments.claims import check_claims

    records = (_records("a", "dense", 0.0, [0.55, 0.60, 0.65]) + _records("a", "linear", 0.9, [0.45, 0.50, 0.55])
               + _records("a", "polynomial", 0.9, [0.55, 0.60, 0.65]) + _records("a", "harmonic", 0.9, [0.5, 0.55, 0.6])
               + _records("a", "lamp", 0.9, [0.60, 0.65, 0.70]) + _records("a", "imp", 0.9, [0.2, 0.6, 1.0])
               + _records("a", "colt", 0.9, [0.25, 0.30, 0.35]) + _records("a", "lamp", 0.95, [0.1, 0.2, 0.3]))
    verdicts = {v.claim: v for v in check_claims(records, {"a": {}}, high=(0.9, 0.95))}
    lamp = verdicts["LAMP above global magnitude (linear) at 0.9"]  # 65% vs linear's 50%, not polynomial's 60%
    assert lamp.holds is True and lamp.figures.startswith("lamp 65.0% vs linear 50.0% (p=")
    imp = verdicts["IMP above the best gradual schedule at 0.9"]  # noisy: 60% vs polynomial 60%
    assert imp.holds is None and "imp 60.0% vs polynomial 60.0% (p=1.00; detectable:" in imp.figures
    colt = verdicts["COLT above the best gradual schedule at 0.9"]
    assert colt.holds is False and "colt 30.0% vs polynomial 60.0%" in colt.figures
    assert not any("0.95" in c and ("LAMP" in c or "IMP" in c) for c in verdicts)  # nothing to compare with


def test_a_sweep_trains_each_scenario_for_its_own_budget_unless_told(monkeypatch, tmp_path):
    """Without --iterations every run gets its scenario's default (traffic: 800), as
    train_dsa.py does; with it, every run gets that."""
    from script_module import load_script

    sweep = load_script("sweep.py")
    seen = {}
    monkeypatch.setattr(sweep, "run_and_report", lambda configs, *a, **k: seen.update({len(seen): configs}))
    common = ["--env-version", "v1", "--scenarios", "traffic", "gilbert", "--methods", "dense", "--seeds", "1",
              "--runs-dir", str(tmp_path)]
    assert sweep.main(common) == 0 and sweep.main([*common, "--iterations", "5"]) == 0
    assert {c.scenario: c.iterations for c in seen[0]} == {"traffic": 800, "gilbert": 300}
    assert {c.scenario: c.iterations for c in seen[1]} == {"traffic": 5, "gilbert": 5}


def test_phase_table_averages_each_phase_of_the_training_curve(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    from marl_prune.experiments.report import phase_table

    records = []
    for seed, offset in ((1, 0.0), (2, 2.0)):  # 20 iterations: the curve is the iteration (+ offset)
        run = tmp_path / f"linear_s{seed}"
        with SummaryWriter(str(run)) as writer:
            for i in range(20):
                writer.add_scalar("charts/utility_vs_oracle", i + offset, i)
                writer.add_scalar("sparsity/target", i / 20, i)
        records.append({"scenario": "basic", "method": "linear", "final_sparsity": 0.95, "seed": seed,
                        "run_dir": str(run)})
    table = phase_table(records + [{"scenario": "snr", "method": "linear", "final_sparsity": 0.9, "seed": 1,
                                    "run_dir": str(tmp_path / "none")}], "basic")
    # phase 30%-40%: iterations 6 and 7, mean 6.5 (+1 for the seeds' mean offset), sparsity 7/20 at its end;
    # phase 90%-100%: iterations 18 and 19, 18.5 + 1, sparsity 19/20
    assert "| linear@0.95 | 2 | 7.500 (0.35) | 11.500 (0.55) | 15.500 (0.75) | 17.500 (0.85) | 19.500 (0.95) |" in table
    assert phase_table(records, "snr") == ""


def test_aggregate_orders_widths_by_value_not_as_text():
    assert sorted(["dense_h128", "dense_h16", "dense", "dense_h8"], key=natural_key) == [
        "dense", "dense_h8", "dense_h16", "dense_h128"]
    records = [{"scenario": "a", "method": f"dense_h{w}", "final_sparsity": 0.0, "eval/score_vs_reference": 0.5}
               for w in (128, 16, 64, 8, 32)]
    assert [r["method"] for r in aggregate(records)] == ["dense_h8", "dense_h16", "dense_h32", "dense_h64",
                                                         "dense_h128"]


def test_a_sweep_continues_from_its_records_on_another_checkout(tmp_path, capfd):
    from marl_prune.experiments import records as run_records

    configs = expand(["basic"], ["dense", "linear"], [0.75], [1], str(tmp_path / "here"), TINY)
    first = run_local(configs, workers=1, records_dir=tmp_path / "records")
    saved = sorted(p.name for p in (tmp_path / "records").iterdir())
    assert saved == sorted(f"{c.run_name}.json" for c in configs)
    # elsewhere: no run folders, only the committed records; nothing trains, the same results are read
    elsewhere = [dataclasses.replace(c, runs_dir=str(tmp_path / "there")) for c in configs]
    capfd.readouterr()
    again = run_local(elsewhere, workers=1, records_dir=tmp_path / "records")
    assert "sweep: 2/2 ended (0 trained, 2 reused, 0 skipped, 0 failed), 0 running; nothing left to train" in \
        capfd.readouterr().err
    assert not list((tmp_path / "there").rglob("latest.pt"))
    assert [{k: v for k, v in r.items() if k != "run_dir"} for r in again] == \
        [{k: v for k, v in r.items() if k != "run_dir"} for r in first]
    # the restored curves are the logged ones to 6 significant digits, and the plots draw them
    for tag in run_records.CURVE_TAGS:
        (s0, v0), (s1, v1) = (run_records.scalar_series(r["run_dir"], [tag])[tag] for r in (first[1], again[1]))
        assert len(s0) == TINY["iterations"] and (s0 == s1).all() and v1 == pytest.approx(v0, rel=1e-5)
    assert plots.learning_curves(again, tmp_path / "l.png", scenario="basic").stat().st_size > 5000
    # saving a restored run writes the same record
    before = (tmp_path / "records" / f"{configs[1].run_name}.json").read_text()
    run_records.save(again[1]["run_dir"], tmp_path / "records")
    assert (tmp_path / "records" / f"{configs[1].run_name}.json").read_text() == before
    # the report reads them too, training nothing
    assert len(Backend(workers=1, report_only=True, records=tmp_path / "records").run(
        [dataclasses.replace(c, runs_dir=str(tmp_path / "third")) for c in configs])) == 2


def test_a_record_of_another_config_is_a_conflict_and_a_damaged_one_is_named(tmp_path):
    configs = expand(["basic"], ["dense"], [0.75], [1], str(tmp_path / "here"), TINY)
    run_local(configs, workers=1, records_dir=tmp_path / "records")
    path = tmp_path / "records" / f"{configs[0].run_name}.json"
    record = json.loads(path.read_text())
    record["config"]["iterations"] = 3
    path.write_text(json.dumps(record))
    elsewhere = [dataclasses.replace(configs[0], runs_dir=str(tmp_path / "there"))]
    with pytest.raises(SweepIncomplete, match=r"holds another config \(iterations: 3 -> 2\)"):
        run_local(elsewhere, workers=1, records_dir=tmp_path / "records")
    path.write_text("{not json")
    elsewhere = [dataclasses.replace(configs[0], runs_dir=str(tmp_path / "third"))]
    with pytest.raises(SweepIncomplete, match=rf"ValueError: {path} is damaged"):
        run_local(elsewhere, workers=1, records_dir=tmp_path / "records")


def test_an_unfinished_copy_of_a_recorded_run_gives_way_to_the_record(tmp_path):
    from marl_prune.experiments import records as run_records

    configs = expand(["basic"], ["dense"], [0.75], [1], str(tmp_path / "here"), TINY)
    (first,) = run_local(configs, workers=1, records_dir=tmp_path / "records")
    run = tmp_path / "here" / configs[0].run_name
    (run / "metrics.json").unlink()  # interrupted: a checkpoint, no metrics
    # report only: read from the record, nothing resumed
    (again,) = Backend(workers=1, report_only=True, records=tmp_path / "records").run(configs)
    assert again == first and not (run / CHECKPOINT).exists() and (run / run_records.CURVES).is_file()
    # an unfinished folder that holds another config is left alone, for the sweep's claim to report
    other = dataclasses.replace(configs[0], runs_dir=str(tmp_path / "there"))
    folder = tmp_path / "there" / configs[0].run_name
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({**json.loads((run / "config.json").read_text()), "iterations": 3}))
    assert not run_records.restore(folder, tmp_path / "records")
    with pytest.raises(SweepIncomplete, match=r"holds another config \(iterations: 3 -> 2\)"):
        run_local([other], workers=1, records_dir=tmp_path / "records")


def test_git_ignores_the_run_folders_but_not_the_records():
    """Records are committed (a sweep continues from them on a fresh checkout); run folders are not."""
    import shutil
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")

    def ignored(path: str) -> bool:
        return subprocess.run(["git", "check-ignore", "-q", path], cwd=root).returncode == 0

    assert ignored("runs/paper_v1_full/pu_traffic__dense__sf0__s1/config.json")
    assert not ignored("docs/results/paper_v1/full/records/pu_traffic__dense__sf0__s1.json")
