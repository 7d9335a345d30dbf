"""Training: independent recurrent actors and a global (or local) critic, PPO on the DSA core.

``train(config) -> metrics`` writes one run folder::

    runs/<run_name>/config.json          the resolved config
    runs/<run_name>/events.out.tfevents*  TensorBoard curves
    runs/<run_name>/checkpoints/latest.pt everything needed to resume exactly
    runs/<run_name>/metrics.json          final evaluation

The x-axis of every curve (``global_step``) counts environment slots summed over copies.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.tensorboard import SummaryWriter

from envs.dsa import DSACore, GenieOracle, evaluate
from marl_prune.checkpoint import CHECKPOINT_FORMAT, load_checkpoint, save_checkpoint
from marl_prune.config import TrainConfig, load_run_config, save_config
from marl_prune.models import RecurrentAgents, ValueNormalizer
from marl_prune.policy import ActorPolicy
from marl_prune.ppo import Rollout, UpdateSettings, ppo_update
from marl_prune.pruning import GradualPruner, MaskSet
from marl_prune.seeding import int_seed, seed_streams
from marl_prune.runs import (CHECKPOINT, Progress, actor_prunable_names, build_models, core_snapshot, load_ticket,
                             resolve_device, restore_core)



def build_pruners(config: TrainConfig, actors, critic, optimizer,
                  ticket_masks: MaskSet | None = None) -> list[GradualPruner]:
    """The actors' pruner (per agent), and the critic's when ``prune_critic``; with a
    ticket's masks, one pruner that holds them fixed."""
    if ticket_masks is not None:
        pruner = GradualPruner(actors, list(ticket_masks), lambda e: 0.0, per_stack=True, optimizer=optimizer)
        pruner.fix(ticket_masks)
        return [pruner]
    if not config.pruning:
        return []
    streams = seed_streams(config.seed)
    common = dict(schedule=config.sparsity_schedule(), every=config.prune_every, score=config.prune_score,
                  scope=config.prune_scope, mode=config.prune_mode, optimizer=optimizer)
    pruners = [GradualPruner(actors, actor_prunable_names(config.prune_head), per_stack=True,
                             generator=torch.Generator().manual_seed(int_seed(streams["actor_pruning"])), **common)]
    if config.prune_critic:
        names = [n for n, p in critic.named_parameters() if "weight" in n and p.dim() >= 2]
        pruners.append(GradualPruner(critic, names, per_stack=config.critic == "local",
                                     generator=torch.Generator().manual_seed(int_seed(streams["critic_pruning"])), **common))
    return pruners


def train(config: TrainConfig, resume_dir: Path | str | None = None) -> dict[str, float]:
    """Train and evaluate; returns the final metrics (also written to ``metrics.json``).

    With ``resume_dir`` the run continues from its last checkpoint and ends with exactly the
    numbers an uninterrupted run would have produced.
    """
    # ---------------------------------------------------------------- run folder
    if resume_dir is not None:
        run_dir = Path(resume_dir)
        config = load_run_config(run_dir)
        checkpoint = load_checkpoint(run_dir / CHECKPOINT)
    else:
        name = config.run_name or f"{config.scenario}__{config.critic}__s{config.seed}__{int(time.time())}"
        run_dir = Path(config.runs_dir) / name
        if (run_dir / "config.json").exists():
            raise ValueError(f"run folder {run_dir} exists already: resume it with --resume {run_dir}")
        run_dir.mkdir(parents=True)
        save_config(config, run_dir / "config.json")
        checkpoint = None

    # ---------------------------------------------------------------- seeding
    torch.set_num_threads(config.torch_threads)
    streams = seed_streams(config.seed)
    torch.manual_seed(int_seed(streams["init"]))
    device = resolve_device(config.device)
    sample_gen = torch.Generator(device=device).manual_seed(int_seed(streams["actions"]))
    minibatch_gen = torch.Generator().manual_seed(int_seed(streams["minibatches"]))

    # ---------------------------------------------------------------- env, models
    env_cfg = config.env_config()
    core = DSACore(env_cfg, num_envs=config.num_envs)
    next_obs = core.reset(seed=streams["env"])
    actors, critic = build_models(config, core)
    actors.to(device), critic.to(device)
    value_norm = ValueNormalizer().to(device) if config.value_norm else None
    optimizer = torch.optim.Adam(
        [*actors.parameters(), *critic.parameters()], lr=config.learning_rate, eps=1e-5
    )
    ticket_masks = None
    if config.init_from:
        ticket_actors, ticket_masks = load_ticket(config.init_from)
        actors.load_state_dict(ticket_actors)
    if config.train_only_head:
        for name, p in actors.named_parameters():
            p.requires_grad_(name.startswith("head."))
    pruners = build_pruners(config, actors, critic, optimizer, ticket_masks)
    local = config.critic == "local"
    ppo_algo = config.algo == "ppo"
    settings = UpdateSettings(
        update_epochs=config.update_epochs if ppo_algo else 1,
        num_minibatches=config.num_minibatches if ppo_algo else 1,
        bptt_chunk=config.bptt_chunk,
        clip_coef=config.clip_coef if ppo_algo else None,
        ent_coef=config.ent_coef,
        vf_coef=config.vf_coef,
        max_grad_norm=config.max_grad_norm,
        norm_adv=config.norm_adv,
        gamma=config.gamma,
        gae_lambda=config.gae_lambda,
    )
    oracle_utility = evaluate(GenieOracle(), env_cfg, config.eval_episodes, seed=config.eval_seed).mean()

    B, N, T = config.num_envs, core.n_users, config.num_steps
    actor_h = actors.initial_hidden(B, device)
    critic_h = critic.initial_hidden(B, device) if local else None
    starting = torch.ones(B, dtype=torch.bool, device=device)  # hidden reset before next slot
    start_iteration, global_step = 0, 0

    if checkpoint is not None:
        actors.load_state_dict(checkpoint["actors"])
        critic.load_state_dict(checkpoint["critic"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        if value_norm is not None:
            value_norm.load_state_dict(checkpoint["value_norm"])
        sample_gen.set_state(checkpoint["sample_gen"])
        minibatch_gen.set_state(checkpoint["minibatch_gen"])
        torch.set_rng_state(checkpoint["torch_rng"])
        restore_core(core, checkpoint["core"])
        next_obs = checkpoint["next_obs"].numpy()
        actor_h, starting = checkpoint["actor_h"].to(device), checkpoint["starting"].to(device)
        critic_h = checkpoint["critic_h"].to(device) if local else None
        start_iteration, global_step = checkpoint["iteration"], checkpoint["global_step"]
        for pruner, state in zip(pruners, checkpoint["pruners"]):
            pruner.load_state_dict(state)

    writer = SummaryWriter(str(run_dir), purge_step=global_step if checkpoint else None)
    if checkpoint is None:
        writer.add_text(
            "hyperparameters",
            "|param|value|\n|-|-|\n" + "\n".join(f"|{k}|{v}|" for k, v in config.to_dict().items()),
        )

    no_reset = torch.zeros(B, dtype=torch.bool, device=device)

    def critic_values(obs, state, h, reset):
        """Values in return units for a slot, and the local critic's next hidden state."""
        if local:
            out, h = critic.step(obs, h * (~reset)[:, None, None])
            v = out[..., 0]
        else:
            v = critic(state)
        return (value_norm.denormalize(v) if value_norm is not None else v), h

    metrics: dict[str, float] = {}
    total_iterations = config.iterations + config.finetune_iterations
    progress = Progress(total_iterations, enabled=config.progress)
    for iteration in range(start_iteration, total_iterations):
        t_start = time.perf_counter()
        if config.anneal_lr:
            optimizer.param_groups[0]["lr"] = config.learning_rate * (1.0 - iteration / total_iterations)
        # pruning events (the schedule covers the first `iterations`; fine-tuning keeps the mask)
        events = [p.event(iteration) for p in pruners] if iteration < config.iterations else []

        # ------------------------------------------------------------ rollout
        value_shape = (T, B, N) if local else (T, B)
        buf = {
            "obs": torch.zeros(T, B, N, core.obs_dim, device=device),
            "state": torch.zeros(T, B, core.state_dim, device=device),
            "actions": torch.zeros(T, B, N, dtype=torch.long, device=device),
            "logprobs": torch.zeros(T, B, N, device=device),
            "rewards": torch.zeros(value_shape, device=device),
            "values": torch.zeros(value_shape, device=device),
            "next_values": torch.zeros(value_shape, device=device),
            "episode_start": torch.zeros(T, B, dtype=torch.bool, device=device),
            "episode_end": torch.zeros(T, dtype=torch.bool, device=device),
            "actor_hidden": torch.zeros(T, B, N, actors.hidden_size, device=device),
            "critic_hidden": torch.zeros(T, B, N, critic.hidden_size, device=device) if local else None,
        }
        sums = {"utility": 0.0, "success_rate": 0.0, "collision_rate": 0.0}
        fairness: list[float] = []
        env_time = 0.0
        with torch.no_grad():
            for t in range(T):
                obs = torch.as_tensor(next_obs, device=device)
                state = torch.as_tensor(core.state(), device=device)
                buf["obs"][t], buf["state"][t], buf["episode_start"][t] = obs, state, starting
                buf["actor_hidden"][t] = actor_h
                if local:
                    buf["critic_hidden"][t] = critic_h
                logits, actor_h = actors.step(obs, actor_h * (~starting)[:, None, None])
                probs = torch.softmax(logits, dim=-1)
                action = torch.multinomial(probs.reshape(B * N, -1), 1, generator=sample_gen).reshape(B, N)
                buf["actions"][t] = action
                buf["logprobs"][t] = torch.log(probs.gather(-1, action[..., None])[..., 0])
                buf["values"][t], critic_h = critic_values(obs, state, critic_h, starting)

                t_env = time.perf_counter()
                next_obs, rewards, truncated, info = core.step(action.cpu().numpy())
                env_time += time.perf_counter() - t_env
                team = torch.as_tensor(rewards.sum(axis=1), dtype=torch.float32, device=device)
                buf["rewards"][t] = team[:, None].expand(B, N) if local else team
                for key in sums:
                    sums[key] += float(info[key].mean())
                starting = torch.full((B,), truncated, dtype=torch.bool, device=device)
                if truncated:  # bootstrap the time limit with the final state's value
                    fairness.append(float(info["fairness"].mean()))
                    buf["episode_end"][t] = True
                    final_obs = torch.as_tensor(next_obs, device=device)
                    final_state = torch.as_tensor(core.state(), device=device)
                    buf["next_values"][t], _ = critic_values(final_obs, final_state, critic_h, no_reset)
                    next_obs = core.reset()
            # V(s_{t+1}) of the slots that did not end an episode
            buf["next_values"][:-1] = torch.where(
                _expand(buf["episode_end"][:-1], buf["values"]), buf["next_values"][:-1], buf["values"][1:]
            )
            if not buf["episode_end"][-1]:
                buf["next_values"][-1], _ = critic_values(
                    torch.as_tensor(next_obs, device=device),
                    torch.as_tensor(core.state(), device=device),
                    critic_h,
                    starting,
                )
        global_step += T * B

        # ------------------------------------------------------------ update
        t_update = time.perf_counter()
        rollout_time = t_update - t_start
        rollout = Rollout(**buf)
        losses = ppo_update(rollout, actors, critic, value_norm, optimizer, settings, minibatch_gen,
                            after_step=lambda: [p.after_optimizer_step() for p in pruners])
        done = iteration + 1
        if done == config.iterations:  # the deployed actors are exactly at the final sparsity
            events = [p.hard_prune(config.final_sparsity) for p in pruners]
        update_time = time.perf_counter() - t_update
        iteration_time = time.perf_counter() - t_start

        # ------------------------------------------------------------ logging
        utility = sums["utility"] / T
        metrics = {
            "charts/utility": utility,
            "charts/utility_vs_oracle": utility / oracle_utility,
            "charts/success_rate": sums["success_rate"] / T,
            "charts/collision_rate": sums["collision_rate"] / T,
            "charts/fairness": float(np.mean(fairness)) if fairness else float(info["fairness"].mean()),
            "charts/SPS": T * B * N / iteration_time,
            "charts/learning_rate": optimizer.param_groups[0]["lr"],
            "charts/time_share_env": env_time / iteration_time,
            "charts/time_share_rollout_forward": (rollout_time - env_time) / iteration_time,
            "charts/time_share_update": update_time / iteration_time,
            **{f"losses/{k}": v for k, v in losses.items()},
        }
        if pruners:
            metrics.update(sparsity_metrics(pruners[0], N))
            if events and events[0] is not None:
                metrics["pruning/pruned"] = events[0]["pruned"]
                metrics["pruning/regrown"] = events[0]["regrown"]
            if len(pruners) > 1:
                metrics["sparsity/critic"] = pruners[1].sparsity()["actual"]
        for key, value in metrics.items():
            writer.add_scalar(key, value, global_step)
        if config.eval_every and done % config.eval_every == 0 and done < total_iterations:
            for key, value in evaluate_actors(actors, config, oracle_utility).items():
                writer.add_scalar(key, value, global_step)
        progress.update(done, metrics["charts/SPS"], utility, utility / oracle_utility)

        if done % config.checkpoint_every == 0 or done == total_iterations:
            save_checkpoint(
                {
                    "format": CHECKPOINT_FORMAT,
                    "iteration": done,
                    "global_step": global_step,
                    "actors": actors.state_dict(),
                    "critic": critic.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "value_norm": value_norm.state_dict() if value_norm is not None else {},
                    "sample_gen": sample_gen.get_state(),
                    "minibatch_gen": minibatch_gen.get_state(),
                    "torch_rng": torch.get_rng_state(),
                    "core": core_snapshot(core),
                    "next_obs": torch.as_tensor(next_obs),
                    "actor_h": actor_h.cpu(),
                    "critic_h": critic_h.cpu() if local else torch.zeros(0),
                    "starting": starting.cpu(),
                    "pruners": [p.state_dict() for p in pruners],
                },
                run_dir / CHECKPOINT,
            )
    progress.close()

    # ---------------------------------------------------------------- final evaluation
    final = evaluate_actors(actors, config, oracle_utility)
    for key, value in final.items():
        writer.add_scalar(key, value, global_step)
    writer.close()
    if pruners:
        final.update({k: v for k, v in sparsity_metrics(pruners[0], N).items() if k != "sparsity/target"})
    result = {
        **final,
        "eval/oracle_utility": oracle_utility,
        "train/utility": metrics.get("charts/utility", float("nan")),
        "global_step": global_step,
    }
    (run_dir / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    result["run_dir"] = str(run_dir)  # type: ignore[assignment]
    return result


def sparsity_metrics(pruner: GradualPruner, n_users: int) -> dict[str, float]:
    """sparsity/target, sparsity/actual, per layer and per agent (``user_i``)."""
    actual = pruner.sparsity()
    out = {"sparsity/target": pruner.target, "sparsity/actual": actual["actual"]}
    independent = pruner.module.encoder.weight.shape[0] == n_users  # one stack per user
    for key, value in actual.items():
        if key.startswith("layer/"):
            out[f"sparsity/{key}"] = value
        elif key.startswith("agent/") and independent:
            out[f"sparsity/agent/user_{key.split('/')[1]}"] = value
    return out


def train_or_resume(config: TrainConfig) -> dict[str, float]:
    """The run's metrics: read when it finished, resumed from its checkpoint when it was
    interrupted, started afresh otherwise (also when it died before its first checkpoint).
    What sweeps call, so that running them again resumes them."""
    run_dir = Path(config.runs_dir) / str(config.run_name)
    if config.run_name is None:
        raise ValueError("train_or_resume needs a run_name")
    if (run_dir / "metrics.json").exists():
        return {**json.loads((run_dir / "metrics.json").read_text()), "run_dir": str(run_dir)}
    if (run_dir / CHECKPOINT).exists():
        return train(config, resume_dir=run_dir)
    if run_dir.exists():
        shutil.rmtree(run_dir)
    return train(config)


def _expand(mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return mask.reshape(mask.shape + (1,) * (like.dim() - 1))


def evaluate_actors(
    actors: RecurrentAgents, config: TrainConfig, oracle_utility: float
) -> dict[str, float]:
    """Greedy evaluation on the evaluation seed (the oracle's episodes)."""
    result = evaluate(ActorPolicy(actors), config.env_config(), config.eval_episodes, seed=config.eval_seed)
    out = {f"eval/{m}": result.mean(m) for m in result.episodes}
    out["eval/utility_vs_oracle"] = out["eval/utility"] / oracle_utility
    return out
