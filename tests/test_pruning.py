"""Schedules, scores, allocators, masks and the gradual pruner."""

import copy
import io
import math

import pytest
import torch
from torch import nn

from marl_prune.models.recurrent import RecurrentAgents
from marl_prune.pruning import (
    GradualPruner,
    Harmonic,
    Horizon,
    MaskSet,
    allocate,
    compute_masks,
    harmonic_schedule,
    keep_count,
    lamp_scores,
    linear_schedule,
    make_schedule,
    masked_step,
    polynomial_schedule,
    prune,
)

H = Horizon(total=200, warmup=20, end_lock=30)  # p = (e - 20) / 150


# ------------------------------------------------------------------------- schedules
@pytest.mark.parametrize("fn", [linear_schedule, polynomial_schedule, harmonic_schedule])
def test_warmup_end_lock_and_bounds(fn):
    values = [fn(e, H, final=0.9, initial=0.2) for e in range(200)]
    assert values[:20] == [0.0] * 20  # dense warm-up
    assert values[170:] == [0.9] * 30  # end-lock at s_f
    assert all(0.2 <= v <= 0.9 for v in values[20:])
    assert values[20] == pytest.approx(0.2)  # starts at s_i (sin(0) = 0 for harmonic)


@pytest.mark.parametrize("fn", [linear_schedule, polynomial_schedule])
def test_linear_and_polynomial_are_monotone(fn):
    values = [fn(e, H, final=0.95) for e in range(200)]
    assert all(a <= b for a, b in zip(values, values[1:]))


def test_linear_and_polynomial_values_by_hand():
    e = 20 + 75  # p = 0.5
    assert linear_schedule(e, H, final=0.8, initial=0.2) == pytest.approx(0.5)
    assert polynomial_schedule(e, H, final=0.8, initial=0.2) == pytest.approx(0.8 - 0.6 * 0.125)
    assert polynomial_schedule(e, H, final=0.8, initial=0.2, power=1) == pytest.approx(0.5)


def test_harmonic_is_the_exact_sinusoid():
    h = Horizon(total=1000, warmup=100, end_lock=100)  # p = t / 800
    for t, expected_wave in [(25, 0.1), (50, 0.0), (75, -0.1), (10, 0.1 * math.sin(2 * math.pi * 0.1))]:
        base = 0.9 * t / 800
        value = harmonic_schedule(100 + t, h, final=0.9, harmonic=Harmonic(amplitude=0.1, period=100))
        assert value == pytest.approx(max(base + expected_wave, 0.0), abs=1e-12)
    # decay and period stretch
    t = 40
    wave = 0.2 * math.exp(-0.01 * t) * math.sin(2 * math.pi * t / (50 * (1 + 0.02 * t)))
    got = harmonic_schedule(100 + t, h, final=0.9,
                            harmonic=Harmonic(amplitude=0.2, period=50, decay=0.01, stretch=0.02))
    assert got == pytest.approx(0.9 * t / 800 + wave)
    # cosine base
    got = harmonic_schedule(100 + 400, h, final=0.9, harmonic=Harmonic(base="cosine", amplitude=0.0))
    assert got == pytest.approx(0.45)


def test_harmonic_target_falls_at_times():
    values = [harmonic_schedule(e, H, final=0.9, harmonic=Harmonic(period=40)) for e in range(200)]
    assert any(b < a for a, b in zip(values, values[1:]))


def test_harmonic_latch_holds_final_after_ninety_percent():
    h = Horizon(total=1000, warmup=0, end_lock=0)
    # linear base 0.9 * p plus a wave of amplitude 0.2, period 20: reaches s_f = 0.9 once
    # p >= 0.9, after which it must stay there even where the wave goes down again.
    values = [harmonic_schedule(e, h, final=0.9, harmonic=Harmonic(amplitude=0.2, period=20)) for e in range(1000)]
    first_hit = next(e for e in range(900, 1000) if values[e] >= 0.9)
    assert all(v == 0.9 for v in values[first_hit:])
    # before 90% the same wave falls back below s_f after touching it
    touched = [e for e in range(900) if values[e] >= 0.9 - 1e-12]
    assert touched and values[touched[0] + 10] < 0.9


def test_make_schedule_validates():
    with pytest.raises(ValueError, match="schedule must be one of"):
        make_schedule("cubic", H, 0.9)
    with pytest.raises(ValueError, match="warmup \\+ end_lock < total"):
        Horizon(total=10, warmup=5, end_lock=5)
    with pytest.raises(ValueError, match="sparsities must lie in"):
        make_schedule("linear", H, 1.5)
    with pytest.raises(ValueError, match="base must be one of"):
        Harmonic(base="square")
    with pytest.raises(ValueError, match="period must be > 0"):
        Harmonic(period=0)


# ------------------------------------------------------------------- scores, allocators
def test_lamp_scores_by_hand():
    w = torch.tensor([1.0, -2.0, 3.0, 0.5, 4.0])
    # ascending magnitudes 0.5, 1, 2, 3, 4; squares 0.25, 1, 4, 9, 16; suffix sums 30.25, 30, 29, 25, 16
    expected = torch.tensor([1 / 30, 4 / 29, 9 / 25, 0.25 / 30.25, 1.0])
    assert torch.allclose(lamp_scores(w), expected)


@pytest.mark.parametrize("scope", ["global", "layerwise", "lamp"])
@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.77, 0.9, 0.99])
def test_exact_survivor_counts(scope, sparsity):
    torch.manual_seed(0)
    scores = {"a": torch.rand(30, 7), "b": torch.rand(64), "c": torch.rand(5, 5) * 10}
    masks = allocate(scores, sparsity, scope)
    total = sum(s.numel() for s in scores.values())
    if scope == "layerwise":
        for name, s in scores.items():
            assert int(masks[name].sum()) == keep_count(s.numel(), sparsity)
    else:
        assert sum(int(m.sum()) for m in masks.values()) == keep_count(total, sparsity)
    if scope == "lamp":
        assert all(int(m.sum()) >= 1 for m in masks.values())


def test_global_keeps_the_largest_scores():
    scores = {"a": torch.tensor([5.0, 1.0, 3.0]), "b": torch.tensor([4.0, 2.0])}
    masks = allocate(scores, 0.6, "global")  # keep round(0.4 * 5) = 2: the 5 and the 4
    assert masks["a"].tolist() == [True, False, False] and masks["b"].tolist() == [True, False]


def test_head_is_emptied_by_global_ranking_unless_excluded():
    torch.manual_seed(0)
    actors = RecurrentAgents(n_agents=3, obs_dim=5, out_dim=3, hidden_size=32)  # head init gain 0.01
    names = ["encoder.weight", "gru.weight_ih", "gru.weight_hh"]
    with_head = compute_masks(actors, names + ["head.weight"], 0.9, scope="global", per_stack=True)
    assert (with_head["head.weight"].flatten(1).sum(1) == 0).all()  # every agent's head emptied
    without = compute_masks(actors, names, 0.9, scope="global", per_stack=True)
    for n in names:
        assert (without[n].flatten(1).sum(1) > 0).all()
    lamp = compute_masks(actors, names + ["head.weight"], 0.98, scope="lamp", per_stack=True)
    assert all((lamp[n].flatten(1).sum(1) > 0).all() for n in names + ["head.weight"])


def test_per_agent_allocation_is_exact_for_every_agent():
    torch.manual_seed(0)
    actors = RecurrentAgents(n_agents=4, obs_dim=5, out_dim=3, hidden_size=16)
    with torch.no_grad():
        actors.gru.weight_hh[2] *= 100  # one agent with far larger weights
    names = ["encoder.weight", "gru.weight_ih", "gru.weight_hh"]
    masks = compute_masks(actors, names, 0.75, per_stack=True)
    per_agent = sum(actors.get_parameter(n)[0].numel() for n in names)
    for s in range(4):
        assert sum(int(masks[n][s].sum()) for n in names) == keep_count(per_agent, 0.75)


# ---------------------------------------------------------------------------- masks
def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))


def test_functional_prune_zeroes_exactly_and_masks_roundtrip():
    net = _net()
    masks = prune(net, 0.8)
    assert set(masks) == {"0.weight", "2.weight"}
    zeros = sum(int((net.get_parameter(n) == 0).sum()) for n in masks)
    assert zeros == 8 * 16 + 16 * 4 - keep_count(8 * 16 + 16 * 4, 0.8)
    assert masks.sparsity() == pytest.approx(zeros / (8 * 16 + 16 * 4))
    # deepcopy of the masked model and of the masks
    net2, masks2 = copy.deepcopy(net), copy.deepcopy(masks)
    assert all(torch.equal(masks[n], masks2[n]) for n in masks)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), net2.state_dict().values()))
    # save / load through torch.save + weights_only load
    buffer = io.BytesIO()
    torch.save({"model": net.state_dict(), "masks": masks.state_dict()}, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)
    restored, fresh = _net(), MaskSet.dense(_net(), ["0.weight", "2.weight"])
    restored.load_state_dict(loaded["model"])
    fresh.load_state_dict(loaded["masks"])
    assert all(torch.equal(fresh[n], masks[n]) for n in masks)
    assert torch.equal(restored(torch.ones(1, 8)), net(torch.ones(1, 8)))


def _train_steps(net, pruner, steps=20):
    opt = pruner.optimizer
    for _ in range(steps):
        loss = net(torch.randn(32, 8)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        masked_step(opt, net, pruner.enforced_masks)  # a plain step while nothing is enforced


def test_strict_mode_keeps_pruned_weights_exactly_zero_through_adam():
    net = _net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    pruner = GradualPruner(net, ["0.weight", "2.weight"], lambda e: 0.7, mode="strict", optimizer=opt)
    pruner.event(0)
    _train_steps(net, pruner)
    for n in ["0.weight", "2.weight"]:
        w = net.get_parameter(n)
        assert (w[~pruner.masks[n]] == 0).all()
        assert (opt.state[w]["exp_avg"][~pruner.masks[n]] == 0).all()  # gradients were masked
        assert (w[pruner.masks[n]] != 0).all()


def test_reference_mode_lets_zeroed_weights_train_freely():
    net = _net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    pruner = GradualPruner(net, ["0.weight", "2.weight"], lambda e: 0.7, mode="reference", optimizer=opt)
    pruner.event(0)
    before = pruner.sparsity()["actual"]
    _train_steps(net, pruner)
    assert before == pytest.approx(0.7, abs=0.01) and pruner.sparsity()["actual"] < 0.1
    pruner.hard_prune(0.7)  # the hard prune fixes the mask from then on
    _train_steps(net, pruner)
    assert pruner.sparsity()["actual"] == pytest.approx(keep_count_sparsity(pruner), abs=1e-9)


def keep_count_sparsity(pruner):
    total = sum(pruner.masks[n].numel() for n in pruner.names)
    return (total - keep_count(total, 0.7)) / total


@pytest.mark.parametrize("mode", ["reference", "strict"])
def test_falling_target_regrows_weights(mode):
    net = _net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    targets = {0: 0.8, 1: 0.5}
    pruner = GradualPruner(net, ["0.weight", "2.weight"], targets.__getitem__, every=1, mode=mode, optimizer=opt)
    first = pruner.event(0)
    _train_steps(net, pruner, steps=5)
    second = pruner.event(1)
    total = 8 * 16 + 16 * 4
    assert first["pruned"] == total - keep_count(total, 0.8) and first["regrown"] == 0
    assert second["regrown"] >= keep_count(total, 0.5) - keep_count(total, 0.8)
    if mode == "strict":  # regrown weights restart at zero with fresh Adam moments
        for n in ["0.weight", "2.weight"]:
            w = net.get_parameter(n)
            assert (opt.state[w]["exp_avg_sq"][pruner.masks[n] & (w == 0)] == 0).all()


def test_random_pruning_masks_are_nested():
    net = _net()
    pruner = GradualPruner(net, ["0.weight", "2.weight"], {0: 0.3, 1: 0.6}.__getitem__, every=1,
                           score="random", generator=torch.Generator().manual_seed(0))
    pruner.event(0)
    first = copy.deepcopy(pruner.masks)
    pruner.event(1)
    for n in ["0.weight", "2.weight"]:
        assert not (pruner.masks[n] & ~first[n]).any()  # nothing pruned before comes back
