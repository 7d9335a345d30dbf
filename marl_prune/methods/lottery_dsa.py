"""IMP, SWAMP and COLT on the DSA actors: the generic methods of
:mod:`marl_prune.methods.lottery`, whose "train" step is a whole
:func:`~marl_prune.learner.train.train` run started from a ticket (rewound weights + the
current masks, held fixed).

A lottery run folder holds ``config.json``, one sub-folder per training run
(``cycle{c}_p{k}``), the tickets, and ``metrics.json``. Every sub-run is deterministic and
skipped when already finished, so an interrupted lottery run resumes by running it again.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import torch

from envs.dsa import make_core
from marl_prune.learner.config import TrainConfig, save_config, write_atomically
from marl_prune.learner.evaluation import evaluate_actors, oracle_utility
from marl_prune.learner.run_folder import RunFolder
from marl_prune.learner.runs import (
    CHECKPOINT,
    RunResult,
    actor_prunable_weights,
    build_actors,
    build_models,
    load_trained_actors,
    save_ticket,
)
from marl_prune.learner.train import train_or_resume
from marl_prune.methods.lottery import colt, imp, swamp
from marl_prune.models.recurrent import RecurrentAgents
from marl_prune.pruning import MaskSet
from marl_prune.seeding import int_seed, seed_streams


class _RunTrainer:
    """The ``train(model, masks, seed)`` callback: one sub-run per call, named by a counter."""

    def __init__(self, config: TrainConfig, run_dir: Path):
        self.config, self.run_dir, self.calls = config, run_dir, 0
        self.history: list[dict] = []

    def __call__(self, actors: RecurrentAgents, masks: MaskSet, seed: int, split: int = 0) -> None:
        name = f"run{self.calls:02d}_seed{seed}"
        self.calls += 1
        sub_dir = self.run_dir / name
        ticket = self.run_dir / "tickets" / f"{name}.pt"
        if not (sub_dir / "metrics.json").exists() and not (sub_dir / CHECKPOINT).exists():
            save_ticket(actors.state_dict(), masks if masks.sparsity() > 0 else None, ticket)
        sub = dataclasses.replace(
            self.config, prune_method="gradual", prune_schedule="none", init_from=str(ticket),
            seed=int_seed(seed_streams(self.config.seed)["lottery"], seed, split), runs_dir=str(self.run_dir),
            run_name=name, progress=False, eval_every=0)
        train_or_resume(sub)
        trained, _ = load_trained_actors(sub_dir)
        actors.load_state_dict(trained.state_dict())
        self.history.append({"run": name, **json.loads((sub_dir / "metrics.json").read_text())})


def run_lottery(config: TrainConfig, overwrite: bool = False) -> RunResult:
    """Run ``config.prune_method`` (imp, swamp or colt) on the DSA actors; returns the final
    evaluation of the last model (SWAMP: the particle average; COLT: learner 0).

    Running it again continues it: finished sub-runs are read, an interrupted one resumed. A
    folder holding another config is an error naming the differences; ``overwrite`` replaces it."""
    method = config.prune_method
    if method not in ("imp", "swamp", "colt"):
        raise ValueError(f"run_lottery handles imp, swamp and colt, not {method!r}")
    if config.run_name is None:
        name = f"{config.scenario}__{method}__s{config.seed}__{int(time.time())}"
        config = dataclasses.replace(config, run_name=name)
    folder = RunFolder.of(config)
    with folder.lock():
        if folder.claim(config, overwrite) == "finished":
            try:
                metrics = folder.metrics()
                return RunResult(folder.path, {k: v for k, v in metrics.items() if isinstance(v, (int, float))})
            except ValueError as e:
                print(f"note: {e}: evaluating the run again", file=sys.stderr)
        save_config(config, folder.config_path)
        return _run_lottery(config, folder.path)


def _run_lottery(config: TrainConfig, run_dir: Path) -> RunResult:
    method = config.prune_method

    torch.manual_seed(int_seed(seed_streams(config.seed)["init"]))  # the dense run's initial weights
    core = make_core(config.env_config())
    actors, _ = build_models(config, core)
    names = actor_prunable_weights(actors, config.prune_head)
    cycles = config.lottery_cycles
    rate = config.lottery_rate or 1.0 - (1.0 - config.final_sparsity) ** (1.0 / cycles)
    trainer = _RunTrainer(config, run_dir)

    if method == "imp":
        result = imp(actors, names, trainer, cycles, rate, per_stack=True)
        final, masks, history = result.model, result.masks, result.history
    elif method == "swamp":
        result = swamp(actors, names, trainer, cycles, config.swamp_particles, rate, per_stack=True)
        final, masks, history = result.model, result.masks, result.history
    else:
        learners = [actors] + [build_actors(config, core) for _ in range(config.colt_splits - 1)]
        # learner i trains on its own environment seeds (a disjoint stream of channel realisations)
        models, masks, history = colt(learners, names, lambda i, m, k, s: trainer(m, k, s, split=i),
                                      cycles, rate, per_stack=True)
        final = models[0]

    oracle = oracle_utility(config)
    metrics = {**evaluate_actors(final, config, oracle), "eval/oracle_utility": oracle,
               "sparsity/actual": masks.sparsity(), "training_runs": trainer.calls}
    save_ticket(final.state_dict(), masks, run_dir / "final_ticket.pt")
    write_atomically(run_dir / "metrics.json", json.dumps(
        {**metrics, "history": history, "runs": trainer.history}, indent=2, default=float) + "\n")
    return RunResult(run_dir, metrics)
