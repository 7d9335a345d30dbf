"""Schedule tuning with equal effort (marl_prune/experiments/tuning.py): the grids, the pick,
the comparison on fresh seeds, and reproduce_paper.py --tune-schedules end to end."""

import argparse

import pytest
from script_module import load_script
from test_sweep import TINY

from marl_prune.experiments import tuning
from marl_prune.experiments.stats import welch_p
from marl_prune.experiments.tuning import (
    METRIC,
    SCHEDULE_GRIDS,
    pick_best,
    setting_label,
    tuning_configs,
    tuning_section,
)


def test_every_schedule_gets_as_many_settings_each_with_its_own_fields(tmp_path):
    configs = tuning_configs(["pu_traffic"], 0.95, [1, 2], str(tmp_path), {"env_version": "v1"})
    assert len(configs) == 3 * 9 * 2 and len({c.run_name for c in configs}) == len(configs)
    by_schedule = {s: {c.label for c in configs if c.prune_schedule == s} for s in SCHEDULE_GRIDS}
    assert {s: len(labels) for s, labels in by_schedule.items()} == {"harmonic": 9, "linear": 9, "polynomial": 9}
    small = next(c for c in configs if c.label == "harmonic_A0.05_T25" and c.seed == 2)
    assert (small.harmonic_amplitude, small.harmonic_period, small.final_sparsity) == (0.05, 25.0, 0.95)
    late = next(c for c in configs if c.label == "linear_w60_e15")
    assert (late.prune_warmup, late.prune_end_lock, late.prune_schedule) == (60, 15, "linear")
    with pytest.raises(ValueError, match="tuning effort must be equal"):
        tuning_configs(["pu_traffic"], 0.95, [1], str(tmp_path), {},
                       grids={"linear": [{"prune_warmup": 15}], "harmonic": [{}, {"harmonic_period": 50.0}]})


def _records(scores: dict[str, list[float]], seeds: list[int]) -> list[dict]:
    return [{"scenario": "pu_traffic", "method": label, "seed": seed, METRIC: value}
            for label, values in scores.items() for seed, value in zip(seeds, values)]


GRIDS = {"linear": [{"prune_end_lock": 15}, {"prune_end_lock": 30}],
         "harmonic": [{"harmonic_period": 25.0}, {"harmonic_period": 50.0}]}


def test_the_pick_is_the_best_mean_and_the_first_setting_on_a_tie():
    records = _records({"linear_e15": [0.30, 0.40], "linear_e30": [0.36, 0.35],  # 0.35 and 0.355
                        "harmonic_T25": [0.5, 0.3], "harmonic_T50": [0.4, 0.4]}, [1, 2])  # a tie at 0.4
    assert pick_best(records, GRIDS) == {("pu_traffic", "linear"): {"prune_end_lock": 30},
                                         ("pu_traffic", "harmonic"): {"harmonic_period": 25.0}}


def test_the_picks_are_compared_on_the_confirmation_seeds_alone():
    # harmonic's pick wins the tuning but loses on fresh seeds: the verdict follows the fresh seeds
    tuned = _records({"linear_e15": [0.30, 0.31, 0.29], "linear_e30": [0.20, 0.21, 0.19],
                      "harmonic_T25": [0.60, 0.61, 0.59], "harmonic_T50": [0.10, 0.11, 0.09]}, [1, 2, 3])
    harmonic, linear = [0.30, 0.31, 0.29, 0.30, 0.30], [0.40, 0.41, 0.39, 0.40, 0.40]
    fresh = _records({"best_harmonic_T25": harmonic, "best_linear_e15": linear}, [6, 7, 8, 9, 10])
    text = tuning_section(tuned + fresh, GRIDS)
    assert "| harmonic | harmonic_T25 | 3 | 60.0% |" in text and "| linear | linear_e15 | 3 | 30.0% |" in text
    assert text.count("**pick**") == 2
    p = welch_p(linear, harmonic)
    assert f"| linear - harmonic | +10.0% | {p:.3g} | yes |" in text  # one pair: the level stays 0.05
    assert "is worse than the best tuned monotone schedule (linear)**: 30.0% against 40.0%" in text
    waiting = tuning_section(tuned, GRIDS)  # no confirmation runs yet: no verdict
    assert "once every tuning run has finished" in waiting and "worse" not in waiting


def test_setting_labels_name_the_knobs():
    assert setting_label("polynomial", {"poly_power": 2.0, "prune_end_lock": 60}) == "polynomial_p2_e60"


def test_tune_schedules_trains_the_picks_on_fresh_seeds_after_the_tuning_runs(tmp_path, monkeypatch, capsys):
    paper = load_script("reproduce_paper.py")
    monkeypatch.setattr(tuning, "SCHEDULE_GRIDS", {"linear": [{"prune_warmup": 0}], "harmonic": [{"prune_warmup": 0}]})
    args = argparse.Namespace(seeds=[1, 2], sparsities=[0.9], confirm_seeds=[3, 4], scenarios=["pu_traffic"],
                              env_version="v1", budget="smoke", backend="local", workers=1, address=None,
                              cpus_per_trial=1.0, gpus_per_trial=0.0, overwrite=False, report_only=True,
                              records=None)
    base = {**TINY, "env_version": "v1", "eval_greedy": False}
    runs, out = str(tmp_path / "runs"), tmp_path / "out"
    assert paper.tune_schedules(args, base, runs, out) == 2  # report only, nothing finished: nothing to report
    args.report_only = False
    assert paper.tune_schedules(args, base, runs, out) == 0
    names = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert names == sorted([f"pu_traffic__{label}__sf0.9__s{seed}" for label in ("linear_w0", "harmonic_w0")
                            for seed in (1, 2)] + [f"pu_traffic__best_{label}__sf0.9__s{seed}"
                                                   for label in ("linear_w0", "harmonic_w0") for seed in (3, 4)])
    assert sorted(p.stem for p in (out / "records").iterdir()) == names  # the records, beside the report
    text = (out / "README.md").read_text()
    assert "the picks on the confirmation seeds" in text and "| linear - harmonic |" in text
    capsys.readouterr()  # picked and compared on the same seed:
    assert paper.main(["--tune-schedules", "--seeds", "1", "2", "--confirm-seeds", "2", "3", "--runs-dir", runs]) == 2
    assert "--confirm-seeds [2] are also tuning seeds" in capsys.readouterr().err
