"""The actor-width sweep (where dense IAGC stops gaining from width) and the runs that
reproduce_paper.py builds for the comparison on dsa_v1."""

import json

import pytest
from script_module import load_script

from marl_prune.experiments.widths import METRIC, saturation_width, scores_by_width, width_section


def test_saturation_width_is_the_smallest_width_no_wider_one_beats():
    scores = {8: [0.10, 0.12, 0.11], 16: [0.30, 0.33, 0.31], 32: [0.50, 0.52, 0.51], 64: [0.51, 0.50, 0.52],
              128: [0.49, 0.53, 0.50]}
    assert saturation_width(scores) == 32  # 16 is beaten by 32, 32 by nothing wider
    assert saturation_width({8: [0.5, 0.6, 0.4], 16: [0.52, 0.41, 0.6]}) == 8  # noise only: the smallest
    assert saturation_width({}) is None


def test_width_section_reads_each_runs_width_from_its_config(tmp_path):
    records = []
    for width, values in ((8, [0.2, 0.25, 0.22]), (64, [0.6, 0.62, 0.61])):
        for seed, value in enumerate(values):
            run = tmp_path / f"h{width}_s{seed}"
            run.mkdir()
            (run / "config.json").write_text(json.dumps({"hidden_size": width}))
            records.append({"scenario": "gilbert", "method": f"dense_h{width}", "run_dir": str(run), METRIC: value})
    assert scores_by_width(records, "gilbert") == {8: [0.2, 0.25, 0.22], 64: [0.6, 0.62, 0.61]}
    text = width_section(records, {"gilbert": {"tdma": 0.5}}, tmp_path)
    assert "| 8 | 3 | 22.3% |" in text and "**64**" in text and "significantly below the best width (64): 8." in text
    assert (tmp_path / "gilbert_score_vs_width.png").stat().st_size > 5000


def test_v1_comparison_runs_the_costly_methods_at_high_sparsity_only(tmp_path):
    paper = load_script("reproduce_paper.py")
    base = {"env_version": "v1", "iterations": 2}
    configs = paper.comparison_configs(["gilbert"], ["dense", "harmonic", "imp", "colt"], [0.5, 0.9, 0.95, 0.98],
                                       [1, 2], str(tmp_path), base)
    levels = {(c.label, c.final_sparsity) for c in configs}
    assert {s for m, s in levels if m == "harmonic"} == {0.5, 0.9, 0.95, 0.98}
    assert {s for m, s in levels if m in ("imp", "colt")} == {0.9, 0.95}
    assert len(configs) == 2 * (1 + 4 + 2 + 2) and all(c.env_version == "v1" for c in configs)


def test_width_runs_are_dense_labelled_by_width_with_distinct_folders(tmp_path):
    paper = load_script("reproduce_paper.py")
    configs = paper.width_configs(["gilbert", "pu_traffic"], [8, 32], [1, 2], str(tmp_path), {"env_version": "v1"})
    assert sorted({(c.label, c.hidden_size) for c in configs}) == [("dense_h32", 32), ("dense_h8", 8)]
    assert len({c.run_name for c in configs}) == len(configs) == 8
    assert all(not c.pruning for c in configs)


def test_v0_presets_refuse_v1_methods(capsys):
    paper = load_script("reproduce_paper.py")
    with pytest.raises(SystemExit):
        paper.main(["--methods", "lamp"])
    assert "need --env-version v1" in capsys.readouterr().err
