"""BenchMARL's MADRL algorithms on the DSA presets, at our trainer's budget, scored on our
evaluation episodes (needs ``pip install -e ".[benchmarl]"``).

    python scripts/external_madrl.py --scenarios snr pu --seeds 1 2 3
    python scripts/external_madrl.py --scenarios traffic --env-version v1 --algorithms mappo ippo
    python scripts/external_madrl.py --env-version v1 --scenarios pu_traffic --algorithms mappo --actor gru
    python scripts/external_madrl.py --smoke                      # a tiny budget, to check the set-up

Use it to test "beats MADRL baselines" against implementations we did not write; to compare
our own methods use scripts/sweep.py. Each run trains one BenchMARL experiment (independent
actors, ``share_policy_params=False``: with shared parameters and no agent id, identical
users see identical observations and act alike) for ``--frames`` environment slots summed
over copies, by default the count ``train_dsa.py`` trains the preset for (its iterations,
300 or the preset's own, x 32 copies x 100 slots), with our PPO's optimisation per batch
(4 epochs of 4 minibatches; the value-based QMIX, VDN and IQL: 16 gradient steps on 800
replayed slots per batch of 3,200). Every algorithm gets the same small tuning budget, on the
first seed, each setting trained for ``--tune-frames`` (default: a third of ``--frames``):
first the grid ``--lrs`` x ``--entropies`` for the policy-gradient ones, ``--lrs`` x
``--epsilons`` (the final epsilon of their epsilon-greedy exploration) for the value-based
ones, at 4 minibatches; then, at the best of that grid, the minibatch counts ``--minibatches``
(m minibatches of 3,200/m slots per epoch, 4 epochs: 4m gradient steps per batch; the
value-based ones: 4m steps on 3,200/m replayed slots). The best setting then runs on every seed
at the full budget. Actor and critic are BenchMARL's MLP
with ``--cells`` hidden units (default 64 64: the width of our actors; BenchMARL's own default,
256 256, is 16x the arithmetic per hidden layer and made a 300-iteration run take about an hour
here). ``--actor gru`` gives the actors memory, as ours have: BenchMARL's GRU of ``cells[0]``
units followed by an MLP of the remaining ``--cells`` (BenchMARL then trains on whole
100-slot trajectories); the critic stays an MLP. The trained policy acts greedily on
``--episodes`` evaluation episodes (seed ``--eval-seed``, the trainer's), scored like our
runs: the utility (v1 ``fair``: geometric mean throughput) as a fraction of the centralised
reference's. Beside them, our trainer's dense IAGC and harmonic@0.9 rows, at the same frames
and seeds, with our defaults (not re-tuned here), timed the same way (``--no-ours`` leaves them
out). Results go to one JSON per run under ``--records`` (a finished run is reused,
so an interrupted sweep resumes; a BenchMARL run cut off midway resumes from its last
checkpoint, ``--checkpoint-every`` iterations apart, and its record says ``resumed``) and a
Markdown table at ``--out``.
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from envs.dsa import VERSIONS, evaluate, make_env_config
from envs.dsa.fields import positive_int
from envs.dsa.references import reference_policy, score_metric
from envs.dsa.torchrl_env import GROUP
from marl_prune.experiments.report import Report
from marl_prune.experiments.stats import ci95
from marl_prune.learner.config import TrainConfig
from marl_prune.learner.run_folder import RunInUse, lock_folder

ALGORITHMS = ("mappo", "ippo", "qmix", "vdn", "iql")
VALUE_BASED = ("qmix", "vdn", "iql")
"""Q-learning algorithms: no entropy bonus; they explore epsilon-greedily, and their second
tuning knob is the final epsilon."""
OURS = {"dense IAGC (ours)": ("dense", 0.0), "harmonic@0.9 (ours)": ("harmonic", 0.9)}
"""Our trainer's rows beside BenchMARL's: (method, final sparsity) at the same budget."""
FRAMES_PER_BATCH = 32 * 100
"""Frames BenchMARL collects per iteration: our rollout's 32 copies x 100 slots."""
DEFAULT_MINIBATCHES = 4
"""Minibatches per epoch of the learning-rate x entropy grid: our PPO's."""
HIDDEN = "_hidden_gru_0"
"""Where BenchMARL's GRU policy keeps its hidden state, per agent."""


class BenchmarlPolicy:
    """A trained BenchMARL policy as an :class:`envs.dsa.DSAPolicy`, on our evaluation
    episodes: greedy (the mode of its action distribution) or sampled (torch's generator
    seeded from the evaluation's policy stream, so an evaluation repeats). A recurrent policy
    (``hidden``: its GRU's layers and units) carries its hidden state from slot to slot, from
    zeros at the episode's start."""

    def __init__(self, policy: Any, sampled: bool = False, hidden: tuple[int, int] | None = None):
        self.policy, self.sampled, self.hidden = policy, sampled, hidden

    def initial_state(self, core: Any, rng: np.random.Generator) -> None:
        if self.sampled:
            torch.manual_seed(int(rng.integers(2**31)))
        return None

    @torch.no_grad()
    def __call__(self, obs: np.ndarray, state: torch.Tensor | None) -> tuple[np.ndarray, torch.Tensor | None]:
        from tensordict import TensorDict
        from torchrl.envs.utils import ExplorationType, set_exploration_type

        B, N = obs.shape[:2]
        group = {"observation": torch.as_tensor(obs)}
        root: dict[str, Any] = {}
        if self.hidden is not None:  # BenchMARL's GRU reads is_init and its state, and writes the next state
            group[HIDDEN] = torch.zeros(B, N, *self.hidden) if state is None else state
            root["is_init"] = torch.full((B, 1), state is None)
        td = TensorDict({GROUP: TensorDict(group, batch_size=(B, N)), **root}, batch_size=(B,))
        with set_exploration_type(ExplorationType.RANDOM if self.sampled else ExplorationType.DETERMINISTIC):
            out = self.policy(td)
        actions = out[GROUP, "action"].reshape(B, N).cpu().numpy().astype(np.int64)
        return actions, None if self.hidden is None else out["next", GROUP, HIDDEN]


def algorithm_config(name: str, entropy: float) -> Any:
    """BenchMARL's config of ``name`` with its defaults, and the entropy coefficient where it has one."""
    from benchmarl.algorithms import IppoConfig, IqlConfig, MappoConfig, QmixConfig, VdnConfig

    config = {"mappo": MappoConfig, "ippo": IppoConfig, "qmix": QmixConfig, "vdn": VdnConfig,
              "iql": IqlConfig}[name].get_from_yaml()
    if hasattr(config, "entropy_coef"):
        config.entropy_coef = entropy
    return config


@functools.cache
def reference_score(version: str, scenario: str, episodes: int, seed: int) -> float:
    """The centralised reference's score on the evaluation episodes (once per preset)."""
    env = make_env_config(version, scenario)
    return evaluate(reference_policy(env), env, episodes, seed=seed).mean(score_metric(env))


def record_path(args: argparse.Namespace, name: str) -> Path:
    """Where a run's JSON result lives: ``--records`` (default: ``--runs-dir``); a sampled
    evaluation's is named apart."""
    return (args.records or args.runs_dir) / f"{name}{'__sampled' if args.sampled else ''}.json"


def save_record(path: Path, record: dict[str, Any]) -> dict[str, Any]:
    """Store a run's result as JSON at ``path``; returns it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1))
    return record


def load_record(path: Path) -> dict[str, Any] | None:
    """A stored result, or None where the run has none yet."""
    return json.loads(path.read_text()) if path.exists() else None


def model_config(kind: str, cells: list[int]) -> Any:
    """BenchMARL's model: an MLP of ``cells`` hidden units, or (``gru``) its GRU of ``cells[0]``
    units followed by an MLP of ``cells[1:]``."""
    from benchmarl.models.gru import GruConfig
    from benchmarl.models.mlp import MlpConfig

    if kind == "mlp":
        model = MlpConfig.get_from_yaml()
        model.num_cells = list(cells)
        return model
    model = GruConfig.get_from_yaml()
    model.hidden_size, model.n_layers, model.mlp_num_cells = cells[0], 1, list(cells[1:])
    return model


def knob_name(algorithm: str) -> str:
    """The second tuning knob: ``eps`` (final exploration epsilon) for the value-based
    algorithms, ``ent`` (entropy coefficient) for the others."""
    return "eps" if algorithm in VALUE_BASED else "ent"


def checkpoints(folder: Path) -> list[Path]:
    """The checkpoints of BenchMARL's experiments in a run's folder, the most frames first."""
    return sorted(folder.glob("*/checkpoints/checkpoint_*.pt"), key=lambda p: -int(p.stem.rsplit("_", 1)[1]))


def run_one(algorithm: str, scenario: str, version: str, seed: int, lr: float, knob: float, frames: int,
            args: argparse.Namespace, minibatches: int = DEFAULT_MINIBATCHES) -> dict[str, Any] | None:
    """Train one BenchMARL experiment (its folder under ``--runs-dir``) and evaluate it; the
    result is stored as JSON under ``--records`` (default: ``--runs-dir``); with ``--report-only``
    a run without a record is None. ``knob``: the entropy coefficient, or for a value-based
    algorithm the final exploration epsilon; ``minibatches``: per epoch (the default's records
    keep the names they had before it could be tuned)."""
    cells = "x".join(map(str, args.cells)) + ("__gru" if args.actor == "gru" else "")
    batches = "" if minibatches == DEFAULT_MINIBATCHES else f"__mb{minibatches}"
    path = record_path(args, f"{scenario}__{algorithm}__lr{lr:g}__{knob_name(algorithm)}{knob:g}__f{frames}__c{cells}"
                             f"{batches}__s{seed}")
    if path.exists() or args.report_only:
        return load_record(path)
    folder = args.runs_dir / path.stem
    try:
        with lock_folder(folder):  # two sweeps that share records never train one run twice at once
            return load_record(path) if path.exists() else train_one(algorithm, scenario, version, seed, lr, knob,
                                                                     frames, minibatches, args, folder, path)
    except RunInUse as e:
        print(f"skipped: {e}", file=sys.stderr)
        return None


def train_one(algorithm: str, scenario: str, version: str, seed: int, lr: float, knob: float, frames: int,
              minibatches: int, args: argparse.Namespace, folder: Path, path: Path) -> dict[str, Any]:
    """:func:`run_one`'s training, in ``folder`` (locked), its record saved at ``path``."""
    entropy = 0.0 if algorithm in VALUE_BASED else knob
    from benchmarl.experiment import Experiment, ExperimentConfig

    from envs.dsa.benchmarl_task import dsa_task

    config = ExperimentConfig.get_from_yaml()
    config.prefer_continuous_actions = False
    config.share_policy_params = False
    config.lr = lr
    config.max_n_frames = frames
    config.on_policy_collected_frames_per_batch = config.off_policy_collected_frames_per_batch = FRAMES_PER_BATCH
    config.on_policy_n_envs_per_worker = config.off_policy_n_envs_per_worker = 32
    # our PPO's optimisation per batch: 4 epochs of m minibatches, m = 4 but for the minibatch
    # tuning (BenchMARL's default, 45 minibatches of 400 frames, is 6x the gradient steps and
    # would not be the same budget)
    config.on_policy_minibatch_size = FRAMES_PER_BATCH // minibatches
    config.on_policy_n_minibatch_iters = 4 * minibatches
    # the value-based ones get as many gradient steps on as many slots (BenchMARL's default,
    # 1000 steps of 128 per batch, took 37 s an iteration here: a 300-iteration run in 3 hours)
    config.off_policy_n_optimizer_steps = 4 * minibatches
    config.off_policy_train_batch_size = FRAMES_PER_BATCH // minibatches
    if algorithm in VALUE_BASED:
        config.exploration_eps_end = knob
    config.evaluation = False
    config.render = False
    config.loggers = ["csv"]
    config.create_json = False
    config.checkpoint_at_end = False
    # one folder per run, checkpointed every --checkpoint-every iterations: a run that was
    # interrupted resumes from its last checkpoint (the value-based ones without their replay
    # buffer, which would take a gigabyte; they refill it), and is marked so in its record
    config.save_folder = str(folder.resolve())
    config.checkpoint_interval = args.checkpoint_every * FRAMES_PER_BATCH
    config.keep_checkpoints_num = 2  # BenchMARL deletes the older before it writes the newer: one stays whole
    config.exclude_buffer_from_checkpoint = algorithm in VALUE_BASED
    start, cpu_start = time.perf_counter(), time.process_time()
    actor, critic = model_config(args.actor, args.cells), model_config("mlp", args.cells)

    def experiment_from(restore: Path | None) -> Any:
        config.restore_file = None if restore is None else str(restore)
        return Experiment(task=dsa_task(scenario, env_version=version), algorithm_config=algorithm_config(
            algorithm, entropy), model_config=copy.deepcopy(actor), critic_model_config=copy.deepcopy(critic),
            seed=seed, config=config)

    experiment, resumed = None, False
    for checkpoint in checkpoints(folder):
        try:
            experiment, resumed = experiment_from(checkpoint), True
            break
        except (RuntimeError, EOFError, OSError, KeyError, ValueError, pickle.UnpicklingError) as e:
            print(f"note: {checkpoint} cannot be restored ({type(e).__name__}: the run was cut off while writing "
                  "it?); trying an older one", file=sys.stderr)
    if experiment is None:
        experiment = experiment_from(None)
    experiment.run()
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    env = make_env_config(version, scenario)
    hidden = (actor.n_layers, actor.hidden_size) if args.actor == "gru" else None  # the GRU's state, per agent
    result = evaluate(BenchmarlPolicy(experiment.policy, args.sampled, hidden), env, args.episodes,
                      seed=args.eval_seed)
    metric = score_metric(env)
    record = {"algorithm": algorithm, "scenario": scenario, "env_version": version, "seed": seed, "lr": lr,
              "entropy": entropy, **({"eps_end": knob} if algorithm in VALUE_BASED else {}),
              "minibatches": minibatches, "frames": frames, "cells": list(args.cells), "actor": args.actor,
              "sampled": args.sampled,
              "seconds": seconds, "cpu_seconds": cpu_seconds, "resumed": resumed,
              "agent_steps_per_second": frames * env.n_users / cpu_seconds,
              "score": result.mean(metric) / reference_score(version, scenario, args.episodes, args.eval_seed),
              "utility": result.mean(),
              "fairness": result.mean("fairness")}
    return save_record(path, record)


def run_ours(method: str, sparsity: float, scenario: str, version: str, seed: int, frames: int,
             args: argparse.Namespace) -> dict[str, Any] | None:
    """Train one of our runs (``--runs-dir``/ours) at ``frames`` slots, timed and scored like
    :func:`run_one` (our trainer also evaluates on ``--episodes`` episodes of ``--eval-seed``)."""
    from marl_prune.experiments.grid import expand
    from marl_prune.experiments.runs import run_or_resume
    from marl_prune.learner.run_folder import RunFolder

    path = record_path(args, f"{scenario}__ours-{method}{sparsity:g}__f{frames}__s{seed}")
    if path.exists() or args.report_only:
        return load_record(path)
    probe = TrainConfig(scenario=scenario, env_version=version)
    iterations, rest = divmod(frames, probe.num_envs * probe.num_steps)
    if rest:
        raise ValueError(f"{frames} frames is not a whole number of our iterations ({probe.num_envs} x "
                         f"{probe.num_steps} slots)")
    base = {"env_version": version, "iterations": iterations, "eval_episodes": args.episodes,
            "eval_seed": args.eval_seed, "eval_every": 0, "eval_greedy": not args.sampled}  # as BenchMARL's
    config = expand([scenario], [method], [sparsity], [seed], str(args.runs_dir / "ours"), base)[0]
    resumed = RunFolder.of(config).claim(config) != "new"
    start, cpu_start = time.perf_counter(), time.process_time()
    result = run_or_resume(config)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    env = make_env_config(version, scenario)
    record = {"algorithm": f"ours-{method}", "final_sparsity": sparsity, "scenario": scenario, "env_version": version,
              "seed": seed, "frames": frames, "sampled": args.sampled, "seconds": seconds, "cpu_seconds": cpu_seconds,
              "resumed": resumed,
              "agent_steps_per_second": frames * env.n_users / cpu_seconds,
              "score": result.metrics["eval/score_vs_reference"], "utility": result.metrics["eval/utility"],
              "fairness": result.metrics["eval/fairness"]}
    return save_record(path, record)


def row(scenario: str, name: str, lr: str, entropy: str, minibatches: str, found: list[dict[str, Any] | None],
        tuning: str) -> str:
    """One table row: mean +- 95% CI of the score over the seeds recorded (of all asked for),
    and the run means beside it."""
    runs = [r for r in found if r is not None]
    seeds = f"{len(runs)}" if len(runs) == len(found) else f"{len(runs)} of {len(found)}"
    if not runs:
        return f"| {scenario} | {name} | {lr} | {entropy} | {minibatches} | {seeds} | not run yet | | | | {tuning} |"
    scores = np.array([r["score"] for r in runs])
    half = ci95(scores)  # Student t, as the sweeps report (NaN for one seed)
    # a resumed run's time covers only its last part, so it is left out of the time columns;
    # agent-steps/s are per CPU second where CPU time was recorded, per wall second before
    timed = [r for r in runs if not r.get("resumed")] or runs
    mark = "*" if any("cpu_seconds" not in r for r in timed) else ""
    seconds = np.mean([r.get("cpu_seconds", r["seconds"]) for r in timed])
    score = f"{scores.mean():.1%} +- {half:.1%}" if len(runs) > 1 else f"{scores.mean():.1%} (no interval)"
    return (f"| {scenario} | {name} | {lr} | {entropy} | {minibatches} | {seeds} | {score} | "
            f"{np.mean([r['fairness'] for r in runs]):.3f} | {seconds:.0f} s{mark} | "
            f"{np.mean([r['agent_steps_per_second'] for r in timed]):,.0f}{mark} | {tuning} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", nargs="+", default=["snr", "pu"], help="presets (default: snr pu)")
    parser.add_argument("--env-version", choices=VERSIONS, default="v0", help="version of the presets (default: v0)")
    parser.add_argument("--algorithms", nargs="+", choices=ALGORITHMS, default=["mappo", "ippo", "qmix"],
                        help="BenchMARL algorithms (default: mappo ippo qmix)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3], help="seeds (default: 1 2 3)")
    parser.add_argument("--frames", type=int, default=None,
                        help="environment slots summed over copies per run (default: train_dsa.py's for the "
                             "preset: 960000 at 300 iterations)")
    parser.add_argument("--tune-frames", type=int, default=None,
                        help="slots per tuning run (default: a third of --frames)")
    parser.add_argument("--cells", nargs="+", type=int, default=[64, 64],
                        help="hidden layer sizes of the actor and critic MLPs (default: 64 64, our actors' width)")
    parser.add_argument("--actor", choices=("mlp", "gru"), default="mlp",
                        help="the actors' model: BenchMARL's MLP, or its GRU of the first --cells units and an MLP of "
                             "the rest (default: mlp)")
    parser.add_argument("--lrs", nargs="+", type=float, default=[5e-5, 3e-4, 1e-3],
                        help="learning rates tried on the first seed (default: 5e-5 3e-4 1e-3)")
    parser.add_argument("--entropies", nargs="+", type=float, default=[0.0, 0.01],
                        help="entropy coefficients tried on the first seed (default: 0 0.01)")
    parser.add_argument("--epsilons", nargs="+", type=float, default=[0.01, 0.1],
                        help="final exploration epsilons the value-based algorithms try on the first seed, in "
                             "place of the entropies (default: 0.01, BenchMARL's, and 0.1)")
    parser.add_argument("--minibatches", nargs="+", type=positive_int, default=[2, 4, 8],
                        help="minibatches per epoch tried on the first seed at the best learning rate and entropy "
                             "(or epsilon) of the grid, which ran at 4 (default: 2 4 8)")
    parser.add_argument("--episodes", type=int, default=64, help="evaluation episodes (default: 64)")
    parser.add_argument("--eval-seed", type=int, default=10_000, help="evaluation seed (default: 10000)")
    parser.add_argument("--runs-dir", type=Path, default=Path("runs/external_madrl"), help="BenchMARL's run folders")
    parser.add_argument("--checkpoint-every", type=positive_int, default=20,
                        help="iterations between a BenchMARL run's checkpoints, from which an interrupted run "
                             "resumes (default: 20)")
    parser.add_argument("--records", type=Path, default=None,
                        help="per-run JSON results, reused when present (default: --runs-dir); a folder kept in "
                             "git lets a sweep that spans sittings resume where it stopped")
    parser.add_argument("--out", type=Path, default=None, help="write the table to this Markdown file")
    parser.add_argument("--no-ours", dest="ours", action="store_false",
                        help="leave out our trainer's rows (dense IAGC and harmonic@0.9, at the same budget and "
                             "seeds, trained under --runs-dir/ours)")
    parser.add_argument("--sampled", action=argparse.BooleanOptionalAction, default=None,
                        help="evaluate every team on sampled actions, not greedy ones (default: sampled on v1, as "
                             "the v1 table; greedy on v0)")
    parser.add_argument("--report-only", action="store_true",
                        help="train nothing: the table from the records present (BenchMARL not needed), the "
                             "missing runs counted in it")
    parser.add_argument("--smoke", action="store_true", help="one tiny run per algorithm, to check the set-up")
    args = parser.parse_args(argv)
    uneven = [m for m in args.minibatches if FRAMES_PER_BATCH % m]
    if uneven:  # every count must cut a batch into equal minibatches, or counts differ in slots seen
        parser.error(f"--minibatches {' '.join(map(str, uneven))}: each count must divide the {FRAMES_PER_BATCH} "
                     "slots of a batch")
    if not args.report_only:
        try:
            import benchmarl  # noqa: F401
        except ImportError:
            parser.error('BenchMARL is not installed: pip install -e ".[benchmarl]"')
    torch.set_num_threads(1)
    if args.sampled is None:
        args.sampled = args.env_version == "v1"
    if args.smoke:
        args.frames, args.tune_frames, args.lrs, args.entropies, args.epsilons, args.seeds, args.episodes = \
            6400, 6400, args.lrs[:1], [0.0], args.epsilons[:1], [1], 4
        args.minibatches = [DEFAULT_MINIBATCHES]
    report = Report()
    actors = "MLP" if args.actor == "mlp" else f"GRU {args.cells[0]} + MLP {list(args.cells[1:])}"
    report.emit(f"BenchMARL actors: {actors}; critics: MLP {' x '.join(map(str, args.cells))}; tuning grid lr "
                f"{args.lrs} x entropy {args.entropies} (value-based algorithms: x final exploration epsilon "
                f"{args.epsilons}) at {DEFAULT_MINIBATCHES} minibatches per epoch, then minibatches "
                f"{args.minibatches} at the grid's best, on seed {args.seeds[0]}, each at the tuning budget; the best "
                "(by score) then trains every seed at the full budget."
                + f" Every team is evaluated on {'sampled' if args.sampled else 'greedy'} actions."
                + (" Our rows: the trainer's defaults, on the same episodes." if args.ours else "")
                + "\n")
    report.emit("Time: the CPU seconds of a run (torch on one thread), which other jobs on the machine do not "
                "stretch as they do its wall time; * marks rows with a run recorded before CPU time was kept, "
                "whose wall time stands in (on a shared machine, so slower).\n")
    report.emit("| scenario | algorithm | lr | entropy (or final epsilon) | minibatches | seeds | "
                "score (mean +- 95% CI) | fairness | time per run | agent-steps/s | "
                "tuning score (by minibatch count) |")
    report.emit("|---|---|---|---|---|---|---|---|---|---|---|")
    missing = 0
    for scenario in args.scenarios:
        ours = TrainConfig(scenario=scenario, env_version=args.env_version)
        frames = args.frames if args.frames is not None else ours.iterations * ours.num_envs * ours.num_steps
        whole = FRAMES_PER_BATCH  # tuning runs train whole BenchMARL iterations
        tune_frames = args.tune_frames if args.tune_frames is not None else max(whole, frames // 3 // whole * whole)
        for algorithm in args.algorithms:
            name = algorithm if args.actor == "mlp" else f"{algorithm} (GRU)"
            knobs = args.epsilons if algorithm in VALUE_BASED else args.entropies
            grid = [(lr, knob) for lr in args.lrs for knob in knobs]
            found = {setting: run_one(algorithm, scenario, args.env_version, args.seeds[0], *setting, tune_frames,
                                      args) for setting in grid}
            tried = {setting: r for setting, r in found.items() if r is not None}
            missing += len(grid) - len(tried)
            if len(tried) < len(grid):  # report-only: no best setting before the grid is complete
                report.emit(f"| {scenario} | {name} | | | | | tuning: {len(tried)} of {len(grid)} settings run | "
                            "| | | |")
                missing += len(args.minibatches) - (DEFAULT_MINIBATCHES in args.minibatches) + len(args.seeds)
                continue
            lr, knob = max(tried, key=lambda s: tried[s]["score"])
            # second stage: the minibatch count at the grid's best (its run at the default is reused)
            found_mb = {m: tried[lr, knob] if m == DEFAULT_MINIBATCHES else
                        run_one(algorithm, scenario, args.env_version, args.seeds[0], lr, knob, tune_frames, args, m)
                        for m in args.minibatches}
            tried_mb = {m: r for m, r in found_mb.items() if r is not None}
            missing += len(found_mb) - len(tried_mb)
            if len(tried_mb) < len(found_mb):
                report.emit(f"| {scenario} | {name} | {lr:g} | | | | tuning: {len(tried_mb)} of {len(found_mb)} "
                            "minibatch counts run | | | | |")
                missing += len(args.seeds)
                continue
            # a tie goes to the default, whose seeds may have run before the minibatch tuning existed
            minibatches = max(tried_mb, key=lambda m: (tried_mb[m]["score"], m == DEFAULT_MINIBATCHES))
            runs = [run_one(algorithm, scenario, args.env_version, seed, lr, knob, frames, args, minibatches)
                    for seed in args.seeds]
            missing += runs.count(None)
            shown = f"eps {knob:g}" if algorithm in VALUE_BASED else f"{knob:g}"
            tuning = f"{tried_mb[minibatches]['score']:.1%}"
            if len(tried_mb) > 1:  # what each minibatch count scored, beside the best
                tuning += " (" + ", ".join(f"{m}: {r['score']:.1%}" for m, r in tried_mb.items()) + ")"
            report.emit(row(scenario, name, f"{lr:g}", shown, str(minibatches), runs, tuning))
        if args.ours:
            for name, (method, sparsity) in OURS.items():
                ours_runs = [run_ours(method, sparsity, scenario, args.env_version, seed, frames, args)
                             for seed in args.seeds]
                missing += ours_runs.count(None)
                report.emit(row(scenario, name, "defaults", "defaults", f"{DEFAULT_MINIBATCHES} (ours)", ours_runs,
                                "-"))
    if missing:
        report.emit(f"\nIncomplete: {missing} runs have no record yet; the same command without --report-only "
                    "trains them (the records present are reused).")
    report.save(args.out, "BenchMARL's algorithms on DSA")
    return 0


if __name__ == "__main__":
    sys.exit(main())
