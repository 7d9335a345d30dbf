"""Training: independent recurrent actors and a global (or local) critic, PPO on the DSA core.

``train(config) -> RunResult`` writes one run folder::

    runs/<run_name>/config.json           the resolved config
    runs/<run_name>/events.out.tfevents*  TensorBoard curves
    runs/<run_name>/checkpoints/latest.pt everything needed to resume exactly
    runs/<run_name>/metrics.json          final evaluation

Each iteration: pruning events, :func:`collect_rollout`, :func:`ppo_update`, the final hard
prune, logging, a periodic evaluation and a checkpoint. The x-axis of every curve
(``global_step``) counts environment slots summed over copies.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from torch.utils.tensorboard import SummaryWriter

from marl_prune.learner.checkpoint import load_checkpoint, save_checkpoint
from marl_prune.learner.config import TrainConfig, load_run_config, save_config, write_atomically
from marl_prune.learner.evaluation import evaluate_actors, oracle_utility
from marl_prune.learner.ppo import UpdateSettings, ppo_update
from marl_prune.learner.rollout import collect_rollout
from marl_prune.learner.runs import CHECKPOINT, Progress, RunResult
from marl_prune.learner.state import TrainState
from marl_prune.pruning import GradualPruner


def _open_run(config: TrainConfig | None, resume_from: Path | str | None) -> tuple[Path, TrainState]:
    """A new run folder and a fresh state, or an interrupted run's folder and its checkpoint."""
    if resume_from is not None:
        run_dir = Path(resume_from)
        state = TrainState.create(load_run_config(run_dir))
        state.load_state_dict(load_checkpoint(run_dir / CHECKPOINT))
        return run_dir, state
    if config is None:
        raise ValueError("train needs a config or a run folder to resume")
    name = config.run_name or f"{config.scenario}__{config.critic}__s{config.seed}__{int(time.time())}"
    run_dir = Path(config.runs_dir) / name
    if (run_dir / "config.json").exists():
        raise ValueError(f"run folder {run_dir} exists already: resume it with --resume {run_dir}")
    run_dir.mkdir(parents=True)
    save_config(config, run_dir / "config.json")
    return run_dir, TrainState.create(config)


def sparsity_metrics(pruner: GradualPruner, per_agent: bool) -> dict[str, float]:
    """sparsity/target, sparsity/actual, per layer, and per agent (``user_i``) with ``per_agent``."""
    actual = pruner.sparsity()
    out = {"sparsity/target": pruner.target, "sparsity/actual": actual["actual"]}
    for key, value in actual.items():
        if key.startswith("layer/"):
            out[f"sparsity/{key}"] = value
        elif key.startswith("agent/") and per_agent:
            out[f"sparsity/agent/user_{key.split('/')[1]}"] = value
    return out


def train_iteration(ts: TrainState, settings: UpdateSettings, oracle: float) -> dict[str, float]:
    """One iteration (events, rollout, update, the hard prune at the end of the schedule);
    returns its scalars for TensorBoard."""
    config, iteration = ts.config, ts.iteration
    started = time.perf_counter()
    total = config.iterations + config.finetune_iterations
    if config.anneal_lr:
        ts.optimizer.param_groups[0]["lr"] = config.learning_rate * (1.0 - iteration / total)
    # pruning events: the schedule covers the first `iterations`; fine-tuning keeps the mask
    events = [p.event(iteration) for p in ts.pruners] if iteration < config.iterations else []
    rollout, stats = collect_rollout(ts)
    update_started = time.perf_counter()
    losses = ppo_update(rollout, ts.actors, ts.critic, ts.value_norm, ts.optimizer, settings, ts.minibatch_gen,
                        masks=ts.enforced_masks)
    ts.iteration += 1
    if ts.iteration == config.iterations:  # the deployed actors are exactly at the final sparsity
        events = [p.hard_prune(config.final_sparsity) for p in ts.pruners]
    ended = time.perf_counter()
    seconds = ended - started
    metrics = {
        "charts/utility": stats.utility,
        "charts/utility_vs_oracle": stats.utility / oracle,
        "charts/success_rate": stats.success_rate,
        "charts/collision_rate": stats.collision_rate,
        "charts/fairness": stats.fairness,
        "charts/SPS": config.num_steps * config.num_envs * ts.core.n_users / seconds,
        "charts/learning_rate": ts.optimizer.param_groups[0]["lr"],
        "charts/time_share_env": stats.env_seconds / seconds,
        "charts/time_share_rollout_forward": (update_started - started - stats.env_seconds) / seconds,
        "charts/time_share_update": (ended - update_started) / seconds,
        **{f"losses/{k}": v for k, v in losses.items()},
    }
    if ts.pruners:
        metrics.update(sparsity_metrics(ts.pruners[0], per_agent=ts.actors.stacks == ts.actors.n_agents))
        if events and events[0] is not None:
            metrics["pruning/pruned"] = events[0]["pruned"]
            metrics["pruning/regrown"] = events[0]["regrown"]
        if len(ts.pruners) > 1:
            metrics["sparsity/critic"] = ts.pruners[1].sparsity()["actual"]
    return metrics


def train(config: TrainConfig | None, resume_from: Path | str | None = None) -> RunResult:
    """Train and evaluate; the final metrics are also written to ``metrics.json``.

    With ``resume_from`` (a run folder; ``config`` is then read from it) the run continues
    from its last checkpoint and ends with exactly the numbers of an uninterrupted run.
    """
    run_dir, ts = _open_run(config, resume_from)
    config = ts.config
    settings = UpdateSettings.from_config(config)
    oracle = oracle_utility(config)
    resumed = resume_from is not None
    writer = SummaryWriter(str(run_dir), purge_step=ts.global_step if resumed else None)
    if not resumed:
        writer.add_text("hyperparameters", "|param|value|\n|-|-|\n" +
                        "\n".join(f"|{k}|{v}|" for k, v in config.to_dict().items()))
    total = config.iterations + config.finetune_iterations
    progress = Progress(total, enabled=config.progress)
    metrics: dict[str, float] = {}
    while ts.iteration < total:
        metrics = train_iteration(ts, settings, oracle)
        for key, value in metrics.items():
            writer.add_scalar(key, value, ts.global_step)
        if config.eval_every and ts.iteration % config.eval_every == 0 and ts.iteration < total:
            for key, value in evaluate_actors(ts.actors, config, oracle).items():
                writer.add_scalar(key, value, ts.global_step)
        progress.update(ts.iteration, metrics["charts/SPS"], metrics["charts/utility"],
                        metrics["charts/utility_vs_oracle"])
        if ts.iteration % config.checkpoint_every == 0 or ts.iteration == total:
            save_checkpoint(ts.state_dict(), run_dir / CHECKPOINT)
    progress.close()

    final = evaluate_actors(ts.actors, config, oracle)
    for key, value in final.items():
        writer.add_scalar(key, value, ts.global_step)
    writer.close()
    if ts.pruners:
        final.update({k: v for k, v in sparsity_metrics(ts.pruners[0], ts.actors.stacks == ts.actors.n_agents).items()
                      if k != "sparsity/target"})
    result = {**final, "eval/oracle_utility": oracle, "train/utility": metrics.get("charts/utility", float("nan")),
              "global_step": ts.global_step}
    write_atomically(run_dir / "metrics.json", json.dumps(result, indent=2) + "\n")
    return RunResult(run_dir, result)


def train_or_resume(config: TrainConfig) -> RunResult:
    """A named run's result: read when it finished, resumed from its checkpoint when it was
    interrupted, started afresh otherwise (also when it died before its first checkpoint)."""
    if config.run_name is None:
        raise ValueError("train_or_resume needs a run_name")
    run_dir = Path(config.runs_dir) / config.run_name
    if (run_dir / "metrics.json").exists():
        return RunResult(run_dir, json.loads((run_dir / "metrics.json").read_text()))
    if (run_dir / CHECKPOINT).exists():
        return train(None, resume_from=run_dir)
    if run_dir.exists():
        shutil.rmtree(run_dir)
    return train(config)
