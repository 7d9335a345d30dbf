"""Training: independent recurrent actors and a global (or local) critic, PPO on the DSA core.

``train(config) -> RunResult`` writes one run folder::

    runs/<run_name>/config.json           the resolved config
    runs/<run_name>/events.out.tfevents*  TensorBoard curves
    runs/<run_name>/checkpoints/latest.pt everything needed to resume exactly
    runs/<run_name>/metrics.json          final evaluation

Each iteration: pruning events, :func:`collect_rollout`, :func:`ppo_update`, the final hard
prune, logging, a periodic evaluation (with the waterfall picture of one of its episodes,
``eval/waterfall``) and a checkpoint. The x-axis of every curve
(``global_step``) counts environment slots summed over copies.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from tensorboard.compat.proto.summary_pb2 import Summary
from torch.utils.tensorboard import SummaryWriter

from envs.dsa.waterfall import png_bytes
from marl_prune.learner.checkpoint import load_checkpoint, save_checkpoint
from marl_prune.learner.config import TrainConfig, save_config, write_atomically
from marl_prune.learner.evaluation import evaluate_actors, oracle_utility, waterfall_of
from marl_prune.learner.ppo import UpdateSettings, ppo_update
from marl_prune.learner.rollout import collect_rollout
from marl_prune.learner.run_folder import RunConflict, RunFolder
from marl_prune.learner.runs import Progress, RunResult
from marl_prune.learner.state import TrainState
from marl_prune.pruning import GradualPruner


def add_png(writer: SummaryWriter, tag: str, image: np.ndarray, step: int) -> None:
    """Log an (H, W, 3) uint8 image to TensorBoard, PNG-encoded by the standard library
    (SummaryWriter.add_image would need Pillow, which the package does not depend on)."""
    height, width = image.shape[:2]
    encoded = Summary.Image(height=height, width=width, colorspace=3, encoded_image_string=png_bytes(image))
    writer._get_file_writer().add_summary(Summary(value=[Summary.Value(tag=tag, image=encoded)]), step)


def log_evaluation(writer: SummaryWriter, ts: TrainState, oracle: float) -> dict[str, float]:
    """Evaluate the actors, log the ``eval/*`` scalars and the waterfall of one episode
    (``eval/waterfall``) at the current step; returns the scalars."""
    metrics = evaluate_actors(ts.actors, ts.config, oracle)
    for key, value in metrics.items():
        writer.add_scalar(key, value, ts.global_step)
    add_png(writer, "eval/waterfall", waterfall_of(ts.actors, ts.config), ts.global_step)
    return metrics


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
    if config.ent_coef_final is not None:
        settings = dataclasses.replace(
            settings, ent_coef=config.ent_coef + (config.ent_coef_final - config.ent_coef) * iteration / total)
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
        **{f"charts/{m}": value for m, value in stats.means.items()},
        "charts/utility_vs_oracle": stats.means["utility"] / oracle,
        "charts/SPS": config.num_steps * config.num_envs * ts.core.n_users / seconds,
        "charts/learning_rate": ts.optimizer.param_groups[0]["lr"],
        "charts/ent_coef": settings.ent_coef,
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


def _run(folder: RunFolder, ts: TrainState, fresh: bool) -> RunResult:
    """Train from where ``ts`` stands to the end, evaluate, write ``metrics.json``. A fresh
    run empties the folder first; a resumed one drops the TensorBoard points after its
    checkpoint (and re-logs the checkpointed iteration's, when only the evaluation was left)."""
    config = ts.config
    total = config.iterations + config.finetune_iterations
    if fresh:
        folder.clear()
    save_config(config, folder.config_path)
    settings = UpdateSettings.from_config(config)
    oracle = oracle_utility(config)
    done = ts.iteration == total
    purge = None if fresh else ts.global_step if done else ts.global_step + 1
    writer = SummaryWriter(str(folder.path), purge_step=purge)
    if fresh:
        writer.add_text("hyperparameters", "|param|value|\n|-|-|\n" +
                        "\n".join(f"|{k}|{v}|" for k, v in config.to_dict().items()))
    elif done:
        for key, value in ts.last_metrics.items():
            writer.add_scalar(key, value, ts.global_step)
    progress = Progress(total, enabled=config.progress, first=ts.iteration)
    while ts.iteration < total:
        ts.last_metrics = train_iteration(ts, settings, oracle)
        for key, value in ts.last_metrics.items():
            writer.add_scalar(key, value, ts.global_step)
        if config.eval_every and ts.iteration % config.eval_every == 0 and ts.iteration < total:
            log_evaluation(writer, ts, oracle)
        progress.update(ts.iteration, ts.last_metrics["charts/SPS"], ts.last_metrics["charts/utility"],
                        ts.last_metrics["charts/utility_vs_oracle"])
        if ts.iteration % config.checkpoint_every == 0 or ts.iteration == total:
            writer.flush()  # every point up to the checkpoint is on disk before it
            save_checkpoint(ts.state_dict(), folder.checkpoint_path)
    progress.close()

    final = log_evaluation(writer, ts, oracle)
    writer.close()
    if ts.pruners:
        final.update({k: v for k, v in sparsity_metrics(ts.pruners[0], ts.actors.stacks == ts.actors.n_agents).items()
                      if k != "sparsity/target"})
    result = {**final, "eval/oracle_utility": oracle,
              "train/utility": ts.last_metrics.get("charts/utility", float("nan")), "global_step": ts.global_step}
    write_atomically(folder.metrics_path, json.dumps(result, indent=2) + "\n")
    return RunResult(folder.path, result)


def _restored(folder: RunFolder, config: TrainConfig) -> TrainState:
    state = TrainState.create(config)
    state.load_state_dict(load_checkpoint(folder.checkpoint_path))
    return state


def train(config: TrainConfig, overwrite: bool = False) -> RunResult:
    """Train a new run in its own folder and evaluate it (the metrics are also written to
    ``metrics.json``). An unnamed run gets ``{scenario}__{critic}__s{seed}__{unix time}``.

    The folder must be new, or hold the same config and no checkpoint (a start that failed);
    anything else is an error that says what to do. With ``overwrite`` a folder that holds
    another config is emptied first.
    """
    if config.run_name is None:
        config = dataclasses.replace(
            config, run_name=f"{config.scenario}__{config.critic}__s{config.seed}__{int(time.time())}")
    folder = RunFolder.of(config)
    with folder.lock():
        stage = folder.claim(config, overwrite)
        if stage == "interrupted":
            raise RunConflict(f"run {folder.path} was interrupted: continue it with --resume {folder.path}")
        if stage == "finished":
            raise RunConflict(f"run {folder.path} has finished already (see its metrics.json): nothing to do")
        return _run(folder, TrainState.create(config), fresh=True)


RESUME_CHANGES = ("iterations", "finetune_iterations", "progress", "checkpoint_every")
"""What ``resume`` may change: a longer run (``iterations`` for runs without a pruning
schedule, ``finetune_iterations`` for any), the progress line, the checkpoint interval."""


def _extended(config: TrainConfig, changes: dict[str, Any], done: int) -> TrainConfig:
    """``config`` with the ``changes`` a resume allows, or ValueError naming what it does not."""
    frozen = sorted(k for k, v in changes.items() if k not in RESUME_CHANGES and getattr(config, k) != v)
    if frozen:
        raise ValueError(f"--resume continues a run as it was configured; it cannot change {', '.join(frozen)} "
                         f"(it can change {', '.join(RESUME_CHANGES)})")
    new = dataclasses.replace(config, **changes)
    if new.iterations != config.iterations and (config.pruning or new.iterations < config.iterations):
        raise ValueError("--resume can raise iterations of a run without a pruning schedule only (the schedule is "
                         f"laid over them): got {new.iterations} for {config.iterations}; "
                         "extend a pruned run with --finetune-iterations")
    if new.finetune_iterations < config.finetune_iterations or new.iterations + new.finetune_iterations < done:
        raise ValueError(f"--resume cannot shorten a run: it has done {done} of "
                         f"{config.iterations + config.finetune_iterations} iterations")
    return new


def resume(run_dir: Path | str, changes: dict[str, Any] | None = None) -> RunResult:
    """Continue a run from its last checkpoint, to exactly the numbers of an uninterrupted run.

    A run that never reached a checkpoint starts from the beginning; a finished run is left as
    it is (a note says so) unless ``changes`` extend it (see :data:`RESUME_CHANGES`).
    """
    folder = RunFolder(run_dir)
    with folder.lock():
        stage = folder.stage()
        if stage == "new":
            raise ValueError(f"{run_dir} is not a run folder (no config.json)")
        config = folder.config()
        if stage == "started":
            print(f"note: {folder.path} has no checkpoint yet: starting it from the beginning", file=sys.stderr)
            return _run(folder, TrainState.create(_extended(config, changes or {}, 0)), fresh=True)
        state = _restored(folder, config)
        new = _extended(config, changes or {}, state.iteration)
        if stage == "finished" and new.iterations + new.finetune_iterations == state.iteration:
            print(f"note: {folder.path} has finished already; nothing to resume, nothing changed", file=sys.stderr)
            return RunResult(folder.path, folder.metrics())
        if new != config:
            state.config = new
            folder.metrics_path.unlink(missing_ok=True)  # the run is no longer finished
        return _run(folder, state, fresh=False)


def train_or_resume(config: TrainConfig, overwrite: bool = False) -> RunResult:
    """A named run's result: read when it finished, resumed when it was interrupted, started
    otherwise; what sweeps call, so that running a sweep again continues it. A folder that
    holds another config is an error naming the differences; ``overwrite`` replaces it."""
    folder = RunFolder.of(config)
    with folder.lock():
        stage = folder.claim(config, overwrite)
        if stage == "finished":
            try:
                return RunResult(folder.path, folder.metrics())
            except ValueError as e:
                print(f"note: {e}: evaluating the run again", file=sys.stderr)
                stage = "interrupted" if folder.checkpoint_path.is_file() else "started"
        if stage == "interrupted":
            return _run(folder, _restored(folder, config), fresh=False)
        return _run(folder, TrainState.create(config), fresh=True)
