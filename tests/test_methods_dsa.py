"""The shared pruning methods on the DSA actors: IMP/SWAMP/COLT runs, distillation, transfer."""

import json

import pytest
import torch
from torch import nn

from marl_prune.learner.config import TrainConfig
from marl_prune.learner.runs import load_ticket, load_trained_actors, save_ticket
from marl_prune.learner.train import train
from marl_prune.methods.distill_dsa import _features, distill_sparse_team, teacher_rollouts
from marl_prune.methods.lottery_dsa import run_lottery
from marl_prune.pruning import MaskSet, compute_masks, keep_count

TINY = dict(num_envs=4, num_steps=20, bptt_chunk=10, hidden_size=16, critic_hidden=16, eval_episodes=4,
            eval_every=0, env={"max_cycles": 20}, progress=False, iterations=2)
NAMES = ["encoder.weight", "gru.weight_ih", "gru.weight_hh"]  # what the actors prune by default


def _per_agent_kept(actors_state, agent):
    return sum(int((actors_state[n][agent] != 0).sum()) for n in NAMES)


@pytest.mark.parametrize("method", ["imp", "swamp", "colt"])
def test_lottery_methods_reach_their_sparsity_and_resume(tmp_path, method):
    cfg = TrainConfig(**TINY, runs_dir=str(tmp_path), run_name=method, prune_method=method,
                      final_sparsity=0.75, lottery_cycles=2, swamp_particles=2)
    first = run_lottery(cfg).metrics
    runs = {"imp": 3, "swamp": 6, "colt": 6}[method]
    assert first["training_runs"] == runs
    actors, masks = load_ticket(tmp_path / method / "final_ticket.pt")
    per_agent = sum(actors[n][0].numel() for n in NAMES)
    for agent in range(4):
        kept = _per_agent_kept(actors, agent)
        if method == "colt":  # intersections prune at least as much as each learner
            assert kept <= keep_count(per_agent, 0.75) + len(NAMES)
        else:
            assert abs(kept - keep_count(per_agent, 0.75)) <= 2 * len(NAMES)
    densities = [h["density"] for h in json.loads((tmp_path / method / "metrics.json").read_text())["history"]]
    if method == "colt":  # at least as fast as (1 - rate)^k, rate = 0.5 here
        assert all(d <= 0.5**k + 1e-3 for k, d in enumerate(densities))
    else:
        assert densities == pytest.approx([1.0, 0.5, 0.25], abs=1e-3)
    # running it again trains nothing and gives the same numbers
    before = sorted(p.stat().st_mtime for p in (tmp_path / method).rglob("latest.pt"))
    again = run_lottery(cfg).metrics
    assert sorted(p.stat().st_mtime for p in (tmp_path / method).rglob("latest.pt")) == before
    assert again["eval/utility"] == first["eval/utility"]


def test_ticket_masks_stay_fixed_and_head_only_training(tmp_path):
    cfg = TrainConfig(**TINY, runs_dir=str(tmp_path), run_name="src")
    train(cfg)
    source, _ = load_trained_actors(tmp_path / "src")
    masks = compute_masks(source, NAMES, 0.8, per_stack=True)
    masks.apply(source)
    ticket = save_ticket(source.state_dict(), masks, tmp_path / "ticket.pt")
    # transfer to a changed scenario (fading on) by full fine-tuning with the mask fixed
    full = train(TrainConfig(**{**TINY, "env": {"max_cycles": 20, "rayleigh_fading": True}},
                             runs_dir=str(tmp_path), run_name="full", init_from=str(ticket)))
    tuned, _ = load_trained_actors(tmp_path / "full")
    for n in NAMES:
        assert torch.equal(tuned.get_parameter(n) != 0, masks[n])  # mask held, survivors trained
    assert not torch.equal(tuned.gru.weight_hh, source.gru.weight_hh)
    assert full.metrics["sparsity/actual"] == pytest.approx(masks.sparsity())
    train(TrainConfig(**TINY, runs_dir=str(tmp_path), run_name="probe", init_from=str(ticket), train_only_head=True))
    probed, _ = load_trained_actors(tmp_path / "probe")
    for n, p in probed.named_parameters():
        same = torch.equal(p, source.get_parameter(n))
        assert same != n.startswith("head."), n  # only the heads moved
    with pytest.raises(ValueError, match="init_from holds its masks fixed"):
        TrainConfig(init_from=str(ticket), prune_schedule="linear")


def test_distillation_keeps_the_mask_and_gets_closer_to_the_teacher(tmp_path):
    cfg = TrainConfig(**{**TINY, "iterations": 4}, runs_dir=str(tmp_path), run_name="teacher")
    train(cfg)
    teacher, config = load_trained_actors(tmp_path / "teacher")
    obs = teacher_rollouts(teacher, config, num_envs=8, seed=999)

    def kl_to_teacher(student):
        with torch.no_grad():
            t, _ = _features(teacher, obs)
            s, _ = _features(student, obs)
        return float(nn.functional.kl_div(torch.log_softmax(s, -1), torch.log_softmax(t, -1),
                                          log_target=True, reduction="none").sum(-1).mean())

    one_shot, masks = distill_sparse_team(teacher, config, 0.8, epochs=0, num_envs=8)
    for weight in (0.0, 1.0):
        student, m = distill_sparse_team(teacher, config, 0.8, epochs=15, square_head_weight=weight,
                                         num_envs=8, lr=3e-3)
        assert all(torch.equal(m[n], masks[n]) for n in NAMES)
        assert all((student.get_parameter(n)[~m[n]] == 0).all() for n in NAMES)
        assert kl_to_teacher(student) < kl_to_teacher(one_shot)
    assert isinstance(masks, MaskSet)
