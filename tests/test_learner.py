"""GAE, the batched recurrent actors, and chunked BPTT against full-sequence references."""

import pytest
import torch
from torch import nn

from envs.dsa.versions import make_core
from marl_prune.learner.config import TrainConfig
from marl_prune.learner.ppo import Rollout, UpdateSettings, _chunk_starts, _chunks, compute_gae, ppo_update
from marl_prune.learner.runs import build_actors
from marl_prune.models.critics import CentralCritic, ValueNormalizer
from marl_prune.models.recurrent import RecurrentAgents, StackedGRUCell, StackedLinear


def test_gae_by_hand_with_truncation_bootstrap():
    rewards = torch.tensor([1.0, 2.0, 3.0])
    values = torch.tensor([0.5, 1.0, 1.5])
    # slot 1 ends an episode by truncation: its next value is the final state's value (4.0)
    next_values = torch.tensor([1.0, 4.0, 2.0])
    episode_end = torch.tensor([False, True, False])
    adv, ret = compute_gae(rewards, values, next_values, episode_end, gamma=0.5, lam=0.5)
    assert adv.tolist() == pytest.approx([1.75, 3.0, 2.5])
    assert ret.tolist() == pytest.approx([2.25, 4.0, 4.0])


def test_gae_lambda_one_is_discounted_return_minus_value():
    torch.manual_seed(0)
    r, v = torch.rand(6, 3), torch.rand(6, 3)
    bootstrap = torch.rand(3)
    next_v = torch.cat([v[1:], bootstrap[None]])
    adv, _ = compute_gae(r, v, next_v, torch.zeros(6, dtype=torch.bool), gamma=0.9, lam=1.0)
    g = bootstrap.clone()
    for t in reversed(range(6)):
        g = r[t] + 0.9 * g
        assert torch.allclose(adv[t], g - v[t], atol=1e-6)


def test_stacked_layers_equal_per_agent_torch_layers():
    torch.manual_seed(0)
    cell, lin = StackedGRUCell(3, 5, 4), StackedLinear(3, 5, 2)
    x, h = torch.randn(7, 3, 5), torch.randn(7, 3, 4)
    out, y = cell(x, h), lin(x)
    for s in range(3):
        ref = nn.GRUCell(5, 4)
        ref_lin = nn.Linear(5, 2)
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(ref, name).copy_(getattr(cell, name)[s])
            ref_lin.weight.copy_(lin.weight[s]), ref_lin.bias.copy_(lin.bias[s])
        assert torch.allclose(out[:, s], ref(x[:, s], h[:, s]), atol=1e-6)
        assert torch.allclose(y[:, s], ref_lin(x[:, s]), atol=1e-6)


def test_shared_parameters_give_one_stack_for_all_users():
    torch.manual_seed(0)
    actors = RecurrentAgents(n_agents=4, obs_dim=5, out_dim=3, hidden_size=8, share_parameters=True)
    assert actors.gru.weight_hh.shape == (1, 24, 8)
    obs = torch.randn(2, 1, 5).expand(2, 4, 5)  # every user sees the same observation
    logits, _ = actors.step(obs, actors.initial_hidden(2))
    assert torch.allclose(logits, logits[:, :1].expand_as(logits))


def _sequence(T=12, B=3, N=2, D=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    obs = torch.randn(T, B, N, D, generator=g)
    start = torch.zeros(T, B, dtype=torch.bool)
    start[0] = True
    start[6] = True  # an episode boundary inside the sequence
    return obs, start


def test_chunk_replay_reproduces_rollout_outputs():
    torch.manual_seed(0)
    actors = RecurrentAgents(2, 5, 4, hidden_size=6)
    obs, start = _sequence()
    T, B = start.shape
    # the rollout: step by step, recording the hidden state entering every slot
    h, hidden, outs = actors.initial_hidden(B), [], []
    with torch.no_grad():
        for t in range(T):
            hidden.append(h)
            out, h = actors.step(obs[t], h * (~start[t]).float()[:, None, None])
            outs.append(out)
    hidden, outs = torch.stack(hidden), torch.stack(outs)
    for chunk in (1, 3, 4, 12):
        with torch.no_grad():
            replay = actors.unroll(_chunks(obs, chunk), _chunk_starts(hidden, chunk), _chunks(start, chunk))
        assert torch.allclose(replay, _chunks(outs, chunk), atol=1e-6), chunk


def _reference_logprobs(actors, obs, start, actions):
    """Full-sequence BPTT with torch's own GRUCell / Linear for every user separately."""
    T, B, N, _ = obs.shape
    logps = []
    for n in range(N):
        enc = lambda x: torch.relu(x @ actors.encoder.weight[n].T + actors.encoder.bias[n])  # noqa: E731
        h = torch.zeros(B, actors.hidden_size)
        per_t = []
        for t in range(T):
            h = h * (~start[t]).float()[:, None]
            h = torch._VF.gru_cell(enc(obs[t, :, n]), h, actors.gru.weight_ih[n], actors.gru.weight_hh[n],
                                   actors.gru.bias_ih[n], actors.gru.bias_hh[n])
            logits = h @ actors.head.weight[n].T + actors.head.bias[n]
            per_t.append(torch.log_softmax(logits, -1).gather(-1, actions[t, :, n, None])[:, 0])
        logps.append(torch.stack(per_t))
    return torch.stack(logps, dim=-1)  # (T, B, N)


def _one_step_gradient(actors, chunk, obs, start, actions, adv):
    """Parameter change of one plain SGD step (lr 1) of the PPO update = minus the gradient."""
    T, B, N, _ = obs.shape
    critic = CentralCritic(3, 4)
    with torch.no_grad():
        old = actors.unroll(obs, actors.initial_hidden(B), start)
        logp = torch.log_softmax(old, -1).gather(-1, actions[..., None])[..., 0]
    rollout = Rollout(
        obs=obs, state=torch.zeros(T, B, 3), actions=actions, logprobs=logp,
        rewards=adv, values=torch.zeros(T, B), next_values=torch.zeros(T, B),
        episode_start=start, episode_end=torch.zeros(T, dtype=torch.bool),
        actor_hidden=torch.zeros(T, B, N, actors.hidden_size), critic_hidden=None,
    )
    settings = UpdateSettings(update_epochs=1, num_minibatches=1, bptt_chunk=chunk, clip_coef=None,
                              ent_coef=0.0, vf_coef=0.0, max_grad_norm=1e9, norm_adv=False,
                              gamma=0.0, gae_lambda=0.0)  # gamma 0: advantages = rewards
    before = [p.detach().clone() for p in actors.parameters()]
    opt = torch.optim.SGD([*actors.parameters(), *critic.parameters()], lr=1.0)
    ppo_update(rollout, actors, critic, None, opt, settings, torch.Generator().manual_seed(0))
    return [b - p.detach() for b, p in zip(before, actors.parameters())]


def test_chunk_covering_the_sequence_equals_full_bptt_gradient():
    torch.manual_seed(0)
    obs, start = _sequence(T=12)
    T, B, N, _ = obs.shape
    actions = torch.randint(0, 4, (T, B, N))
    adv = torch.randn(T, B)
    actors = RecurrentAgents(N, 5, 4, hidden_size=6)
    reference = RecurrentAgents(N, 5, 4, hidden_size=6)
    reference.load_state_dict(actors.state_dict())

    grads = _one_step_gradient(actors, chunk=12, obs=obs, start=start, actions=actions, adv=adv)
    loss = -(adv[..., None] * _reference_logprobs(reference, obs, start, actions)).mean()
    ref_grads = torch.autograd.grad(loss, list(reference.parameters()))
    for g, r in zip(grads, ref_grads):
        assert torch.allclose(g, r, atol=1e-6)

    # shorter chunks truncate the backward pass: the gradient really changes
    actors2 = RecurrentAgents(N, 5, 4, hidden_size=6)
    actors2.load_state_dict(reference.state_dict())
    truncated = _one_step_gradient(actors2, chunk=3, obs=obs, start=start, actions=actions, adv=adv)
    assert not torch.allclose(truncated[3], ref_grads[3], atol=1e-6)  # gru.weight_hh


def test_value_normalizer_tracks_mean_and_std():
    norm = ValueNormalizer(beta=0.9)
    x = torch.tensor([10.0, 12.0, 14.0])
    for _ in range(200):
        norm.update(x)
    assert norm.normalize(x).tolist() == pytest.approx([-1.2247, 0.0, 1.2247], abs=1e-3)
    assert torch.allclose(norm.denormalize(norm.normalize(x)), x)


@pytest.mark.parametrize("shared", [False, True], ids=["independent", "shared-with-ids"])
def test_fast_unroll_equals_the_step_by_step_reference(shared):
    """Outputs and gradients of the sequence-batched unroll match one step per slot to 1e-6
    (in float64, so that only a difference in the maths, not float32's summation order, shows)."""
    torch.manual_seed(0)
    T, B, N, D = 12, 5, 3, 7
    actors = RecurrentAgents(N, D, 4, hidden_size=8, share_parameters=shared, agent_ids=shared).double()
    obs, h0 = torch.randn(T, B, N, D, dtype=torch.float64), torch.randn(B, N, 8, dtype=torch.float64)
    start = torch.rand(T, B) < 0.2
    fast, reference = actors.unroll(obs, h0, start), actors.unroll_reference(obs, h0, start)
    assert torch.allclose(fast, reference, atol=1e-6, rtol=0)
    grads = []
    for out in (fast, reference):
        actors.zero_grad()
        (out * torch.linspace(-1, 1, out.numel(), dtype=torch.float64).reshape(out.shape)).sum().backward()
        grads.append([p.grad.clone() for p in actors.parameters()])
    assert all(torch.allclose(a, b, atol=1e-6, rtol=1e-6) for a, b in zip(*grads))


def test_the_memoryless_actor_sees_exactly_its_frame_stack():
    from marl_prune.models.feedforward import FeedForwardAgents

    torch.manual_seed(0)
    B, N, D = 2, 3, 4
    actor = FeedForwardAgents(N, D, 5, hidden_size=8, frame_stack=3)
    obs = torch.randn(6, B, N, D)
    start = torch.zeros(6, B, dtype=torch.bool)
    start[3, 1] = True  # copy 1 starts an episode at t = 3
    out = actor.unroll(obs, actor.initial_hidden(B), start)
    for t in range(6):
        for b in range(B):
            first = 3 if (b == 1 and t >= 3) else 0
            frames = [obs[k, b] if k >= first else torch.zeros(N, D) for k in range(t - 2, t + 1)]
            expected = actor._net(torch.cat(frames, dim=-1)[None])[0]
            assert torch.allclose(out[t, b], expected, atol=1e-6)
    single = FeedForwardAgents(N, D, 5, hidden_size=8, frame_stack=1)  # no memory at all
    a = single.unroll(obs, single.initial_hidden(B), start)
    b = single.unroll(obs.flip(0), single.initial_hidden(B), start).flip(0)
    assert torch.allclose(a, b, atol=1e-6) and single.hidden_size == 0


@pytest.mark.parametrize("actor", ["gru", "mlp"])
def test_actor_head_gain_scales_only_the_initial_output_layer(actor):
    """Orthogonal init is linear in its gain: from the same generator state, gain 1 gives the
    head 100 times the weights of gain 0.01, and leaves every other parameter as it was."""
    core = make_core(TrainConfig(scenario="basic").env_config(), num_envs=1)
    built = {}
    for gain in (0.01, 1.0):
        torch.manual_seed(0)
        built[gain] = build_actors(TrainConfig(scenario="basic", actor=actor, actor_head_gain=gain), core).state_dict()
    for name, small in built[0.01].items():
        large = built[1.0][name]
        if name == "head.weight":
            assert torch.allclose(large, 100 * small, rtol=1e-4, atol=1e-7) and small.abs().max() < 0.05
        else:
            assert torch.equal(large, small), name
