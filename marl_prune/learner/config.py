"""The training configuration: one dataclass whose fields document themselves, validated on
construction, and its run-folder file ``config.json``."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envs.dsa import PRESETS, PRESETS_V1, VERSIONS, DSAConfig, make_env_config, presets
from envs.dsa.fields import check_field_types
from marl_prune.pruning import BASES, MODES, SCHEDULES, SCOPES, Harmonic, Horizon, make_schedule

PRUNE_METHODS = ("gradual", "imp", "swamp", "colt")
CHOICES: dict[str, tuple[str, ...]] = {
    "scenario": tuple(sorted({*PRESETS, *PRESETS_V1})),
    "env_version": VERSIONS,
    "critic": ("global", "local"),
    "credit": ("team", "difference"),
    "welfare": ("sum", "log", "episode_log"),
    "algo": ("ppo", "a2c"),
    "prune_schedule": ("none", *SCHEDULES),
    "prune_scope": SCOPES,
    "prune_score": ("magnitude", "random"),
    "prune_mode": MODES,
    "harmonic_base": BASES,
    "prune_method": PRUNE_METHODS,
    "actor": ("gru", "mlp"),
}
"""The allowed values of every field that takes a name (validation and ``--help`` read it)."""
BASE_DEFAULTS: dict[str, Any] = {"iterations": 300, "share_actor_params": False, "credit": "team", "welfare": "sum",
                                 "gamma": 0.99, "actor_head_gain": 0.01, "critic": "global"}
SCENARIO_DEFAULTS: dict[str, dict[str, Any]] = {
    # 32 users: with the team's reward each user's signal is drowned by the other 31 users'
    # noise, and neither independent actors nor one shared actor learn a team in a budget that
    # fits (ALOHA level); each user's difference reward takes that noise out.
    "large": {"credit": "difference"},
    "large_traffic": {"credit": "difference"},
    # traffic: with the team's reward the team stalls below TDMA (56-61% of max-weight at 300
    # iterations); difference rewards and 800 iterations take it to TDMA's level (64%) with the
    # global critic, and with local critics a little above it (65% over 8 seeds, 6 above TDMA).
    "traffic": {"credit": "difference", "iterations": 800, "critic": "local"},
    # fair: summed, the proportional-fair rewards barely tell ALOHA from TDMA, and the team
    # settles at ALOHA's level; it learns sum_i log(throughput_i) itself, episode by episode
    # (the score's own welfare; under the rollout's welfare, log, users drift to owning a
    # channel in half of the episodes). Users start apart (head gain 1): from CleanRL's
    # near-uniform start, pairs of users that share a channel stall at ALOHA p = 1/2 (a saddle)
    # instead of taking turns on the frame clock. See docs/results/v1_fair_probes.md.
    "fair": {"welfare": "episode_log", "gamma": 1.0, "actor_head_gain": 1.0},
}
"""Budgets and architectures per scenario, for the fields a config leaves unset (None);
BASE_DEFAULTS elsewhere. Chosen so that the default command learns within 30 minutes on
2 cores (see the README's results)."""


@dataclass
class TrainConfig:
    """Independent recurrent actors with a global critic, trained with PPO on DSA."""

    # --- run
    scenario: str = "basic"
    """DSA preset: basic, snr, pu or large (v0); traffic, gilbert, pu_traffic, fair or large_traffic (v1)."""
    env_version: str = "v0"
    """Environment version: v0 (full buffers, static channels, sum rate) or v1 (traffic, correlated
    channels, fairness-aware rewards)."""
    env: dict[str, Any] = field(default_factory=dict)
    """Overrides of DSAConfig fields, e.g. {"max_cycles": 50} (CLI: --env max_cycles=50)."""
    seed: int = 1
    """Seed of everything: environment, initialisation, sampling, minibatch order."""
    runs_dir: str = "runs"
    """Folder that holds one sub-folder per run."""
    run_name: str | None = None
    """Run folder name; default {scenario}__{critic}__s{seed}__{unix time}."""
    label: str | None = None
    """Name of the run's method in sweep tables and plots (a sweep sets it; no effect on training)."""
    device: str = "cpu"
    """torch device: cpu, cuda or auto (cuda when available)."""
    torch_threads: int = 1
    """torch intra-op threads (results are reproducible for a fixed value)."""
    # --- rollouts
    iterations: int | None = None
    """Training iterations; each collects num_steps slots from num_envs copies (default: 300, or
    the scenario's own budget in SCENARIO_DEFAULTS)."""
    num_envs: int = 32
    """Environment copies stepped in lockstep."""
    num_steps: int = 100
    """Slots per rollout (a multiple of bptt_chunk)."""
    # --- model
    hidden_size: int = 64
    """Width of the actor's Linear and GRU layers."""
    actor_head_gain: float | None = None
    """Orthogonal-init gain of the actors' output layer (default: 0.01, CleanRL's, but 1 on fair,
    see SCENARIO_DEFAULTS). 0.01 starts every user near the uniform policy; a larger gain starts
    each user with random preferences of its own, which breaks the symmetry between users that
    must come to act differently."""
    actor: str = "gru"
    """gru: the recurrent actor; mlp: a memoryless actor of the same width (Linear-ReLU-Linear-ReLU-
    head) on the last frame_stack observations, for the memory ablation (not exportable)."""
    frame_stack: int = 1
    """actor=mlp: how many of the last observations the actor sees."""
    share_actor_params: bool | None = None
    """One actor network for all users instead of one per user: every user's experience trains
    it and an exported team stores it once; users differ through agent_ids (default:
    independent actors: on traffic they reach 56% of max-weight against the shared actor's
    23%, and on large, with difference rewards, 65% of the oracle, where a shared actor's
    sampled team stays at ALOHA's 24% and its greedy team idles, 0%, on 3 seeds)."""
    agent_ids: bool = True
    """With shared networks: append a one-hot agent id to each user's observation (False:
    identical users get identical policies)."""
    share_critic_params: bool = False
    """Local critics (critic=local): one shared critic network instead of one per user."""
    critic: str | None = None
    """global: one MLP critic on the global state (IAGC); local: a recurrent critic per user
    on its own observations (IPPO-style). Default: global, but local on traffic (see
    SCENARIO_DEFAULTS)."""
    critic_hidden: int = 128
    """Width of the critic."""
    credit: str | None = None
    """What each user learns from (default: team, but difference on large, traffic and
    large_traffic, see SCENARIO_DEFAULTS). team: the team's reward (the sum over users), one advantage
    for all; difference: its own difference reward, the team's reward minus the team's reward
    had it stayed idle in that slot (DSACore.difference_rewards), with a value per user (the
    global critic gets one output per user). The difference takes the other users' noise out of
    each user's signal, which matters with many users (Dr.Reinforce, Castellini et al. 2021)."""
    welfare: str | None = None
    """What the team maximises (default: sum, but episode_log on fair, see SCENARIO_DEFAULTS).
    sum: the environment's rewards. log: sum_i log(x_i), with x_i user i's mean throughput (the
    delivered rate, or packets with the packets reward; costs and penalties do not count), the
    quantity the geometric mean throughput scores: each user's throughput in a slot is
    divided by its mean over the rollout (at least rollout.WELFARE_FLOOR), which makes the
    policy gradient that of sum_i log(x_i) (Siddique et al. 2020). With credit difference, each
    user gets its own weighted throughput less what its transmission cost the user it collided
    with (rollout.log_welfare_difference_rewards). episode_log: the same welfare episode by
    episode, as the score takes it (a team that starves each user in half of the episodes
    scores as high as a fair one under log, not here): each slot earns the rise of
    sum_i log(x_i + alpha_epsilon), with x_i projected from the user's throughput so far in
    the episode and its usual rate for the slots left, and the episode's end is terminal
    (rollout.episode_log_welfare_rewards; team credit only)."""
    # --- optimisation
    algo: str = "ppo"
    """ppo (clipped, several epochs) or a2c (one epoch, one minibatch, no clipping)."""
    learning_rate: float = 1e-3
    """Adam learning rate (actors and critic)."""
    anneal_lr: bool = True
    """Decay the learning rate linearly to 0 over the iterations."""
    gamma: float | None = None
    """Discount factor (default: 0.99, but 1 on fair, whose episode_log welfare is scored per
    episode)."""
    gae_lambda: float = 0.95
    """GAE lambda."""
    update_epochs: int = 4
    """PPO epochs per iteration."""
    num_minibatches: int = 4
    """Minibatches per epoch (split over BPTT chunks)."""
    bptt_chunk: int = 20
    """Length of the truncated-BPTT chunks the recurrent actors are trained on."""
    clip_coef: float = 0.2
    """PPO ratio clipping."""
    ent_coef: float = 0.01
    """Entropy bonus."""
    ent_coef_final: float | None = None
    """Anneal the entropy bonus linearly from ent_coef to this over the iterations (None: constant)."""
    vf_coef: float = 0.5
    """Value loss weight."""
    max_grad_norm: float = 0.5
    """Global gradient-norm clip."""
    norm_adv: bool = True
    """Normalise advantages per minibatch."""
    value_norm: bool = True
    """Train the critic on running-normalised returns."""
    # --- gradual pruning of the actors
    prune_schedule: str = "none"
    """none (dense), linear, polynomial or harmonic."""
    final_sparsity: float = 0.9
    """s_f: sparsity of the deployed actors."""
    initial_sparsity: float = 0.0
    """s_i: sparsity where the schedule starts after the warm-up."""
    prune_warmup: int | None = None
    """e_w: dense iterations before the first pruning event (default: 10% of iterations)."""
    prune_end_lock: int | None = None
    """E_lock: last scheduled iterations held at final_sparsity (default: 10% of iterations)."""
    prune_every: int = 5
    """Iterations between pruning events."""
    prune_scope: str = "global"
    """global (one ranking per agent), layerwise (same fraction per tensor) or lamp (LAMP amounts)."""
    prune_score: str = "magnitude"
    """magnitude, or random (the random-pruning baseline)."""
    prune_mode: str = "reference"
    """reference: zero at events, train freely between them; strict: masks enforced between
    events, regrown weights restart at zero with reset optimiser state."""
    prune_head: bool = False
    """Also prune the actors' output heads (global ranking tends to empty them)."""
    prune_critic: bool = False
    """Prune the critic's weights on the same schedule (it stays dense by default)."""
    poly_power: float = 3.0
    """k of the polynomial schedule (and of a polynomial harmonic base)."""
    harmonic_base: str = "linear"
    """Base curve of the harmonic schedule: linear, cosine or polynomial."""
    harmonic_amplitude: float = 0.1
    """A0: amplitude of the harmonic oscillation."""
    harmonic_period: float = 100.0
    """T0: period of the oscillation in iterations."""
    harmonic_decay: float = 0.0
    """lam: exponential decay rate of the amplitude per iteration."""
    harmonic_stretch: float = 0.0
    """r: growth rate of the period per iteration."""
    finetune_iterations: int = 0
    """Extra iterations after the final hard prune, training with the mask fixed."""
    # --- other pruning methods and transfer
    prune_method: str = "gradual"
    """gradual (the schedule above), or imp, swamp, colt: cycles of whole training runs with
    weight rewinding (see marl_prune/methods/lottery_dsa.py)."""
    lottery_cycles: int = 3
    """Pruning cycles of IMP / SWAMP / COLT."""
    lottery_rate: float | None = None
    """Fraction of the surviving weights removed per cycle; default: reach final_sparsity
    after lottery_cycles (IMP, SWAMP; COLT's intersection may go further)."""
    swamp_particles: int = 4
    """SWAMP: particles per cycle (same ticket, different seeds), weight-averaged."""
    colt_splits: int = 2
    """COLT: learners on disjoint environment seeds, masks intersected each round."""
    init_from: str | None = None
    """A ticket file (actor weights, optional masks): the actors start from it and its masks
    stay fixed during training."""
    train_only_head: bool = False
    """Freeze the actors except their output heads (linear probing, for transfer)."""
    # --- evaluation, logging, checkpoints
    eval_every: int = 50
    """Evaluate the policy every this many iterations (0: only at the end)."""
    eval_greedy: bool = True
    """Evaluate the greedy policy (argmax, the deployment default); False: actions sampled from
    the policy, as trained (the better choice where randomness resolves contention)."""
    eval_episodes: int = 32
    """Episodes per evaluation."""
    eval_seed: int = 10_000
    """Seed of the evaluation episodes (the oracle is evaluated on the same ones)."""
    checkpoint_every: int = 50
    """Save a checkpoint every this many iterations (and always at the end)."""
    progress: bool = True
    """Show a progress line on stderr."""

    def __post_init__(self) -> None:
        check_field_types(self)
        for name, value in {**BASE_DEFAULTS, **SCENARIO_DEFAULTS.get(self.scenario, {})}.items():
            if getattr(self, name) is None:  # left unset: the scenario's default
                setattr(self, name, value)
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"TrainConfig.{name} must be one of {list(allowed)}, got {getattr(self, name)!r}")
        # the pruning horizon's default: a tenth of the run for the warm-up and the end-lock
        self.prune_warmup = self.iterations // 10 if self.prune_warmup is None else self.prune_warmup
        self.prune_end_lock = self.iterations // 10 if self.prune_end_lock is None else self.prune_end_lock
        chunks = self.num_envs * (self.num_steps // self.bptt_chunk) if self.bptt_chunk >= 1 else 0
        checks = [  # (holds, field, what it must be)
            (self.run_name is None or (self.run_name.strip() not in ("", ".", "..")
                                       and "/" not in self.run_name and "\\" not in self.run_name),
             "run_name", "must be a plain folder name"),
            (self.device in ("cpu", "cuda", "auto") or self.device.startswith("cuda:"), "device",
             "must be cpu, cuda, cuda:N or auto"),
            (self.seed >= 0, "seed", "must be >= 0"),
            (self.torch_threads >= 1, "torch_threads", "must be >= 1"),
            (self.iterations >= 1, "iterations", "must be >= 1"),
            (self.num_envs >= 1, "num_envs", "must be >= 1"),
            (self.num_steps >= 1, "num_steps", "must be >= 1"),
            (self.bptt_chunk >= 1 and self.num_steps % self.bptt_chunk == 0, "bptt_chunk",
             f"must divide num_steps ({self.num_steps})"),
            (self.hidden_size >= 1, "hidden_size", "must be >= 1"),
            (self.actor_head_gain > 0, "actor_head_gain", "must be > 0"),
            (self.frame_stack >= 1 and (self.frame_stack == 1 or self.actor == "mlp"), "frame_stack",
             "must be >= 1, and 1 unless actor=mlp"),
            (self.critic_hidden >= 1, "critic_hidden", "must be >= 1"),
            (self.learning_rate > 0, "learning_rate", "must be > 0"),
            (0 <= self.gamma <= 1, "gamma", "must lie in [0, 1]"),
            (0 <= self.gae_lambda <= 1, "gae_lambda", "must lie in [0, 1]"),
            (self.update_epochs >= 1, "update_epochs", "must be >= 1"),
            (1 <= self.num_minibatches <= max(chunks, 1), "num_minibatches",
             f"must lie in [1, {chunks}] (the BPTT chunks of a rollout: num_envs * num_steps / bptt_chunk)"),
            (self.clip_coef > 0, "clip_coef", "must be > 0"),
            (self.ent_coef >= 0, "ent_coef", "must be >= 0"),
            (self.ent_coef_final is None or self.ent_coef_final >= 0, "ent_coef_final", "must be >= 0"),
            (self.vf_coef > 0, "vf_coef", "must be > 0"),
            (self.max_grad_norm > 0, "max_grad_norm", "must be > 0"),
            (0.0 <= self.initial_sparsity <= self.final_sparsity, "initial_sparsity",
             "must lie in [0, final_sparsity]"),
            (0.0 <= self.final_sparsity < 1.0, "final_sparsity", "must lie in [0, 1)"),
            (self.prune_warmup >= 0, "prune_warmup", "must be >= 0"),
            (self.prune_end_lock >= 0, "prune_end_lock", "must be >= 0"),
            (self.prune_every >= 1, "prune_every", "must be >= 1"),
            (self.poly_power > 0, "poly_power", "must be > 0"),
            (self.harmonic_amplitude >= 0, "harmonic_amplitude", "must be >= 0"),
            (self.harmonic_period > 0, "harmonic_period", "must be > 0"),
            (self.harmonic_decay >= 0, "harmonic_decay", "must be >= 0"),
            (self.harmonic_stretch >= 0, "harmonic_stretch", "must be >= 0"),
            (self.finetune_iterations >= 0, "finetune_iterations", "must be >= 0"),
            (self.lottery_cycles >= 1, "lottery_cycles", "must be >= 1"),
            (self.lottery_rate is None or 0 < self.lottery_rate < 1, "lottery_rate", "must lie in (0, 1)"),
            (self.swamp_particles >= 1, "swamp_particles", "must be >= 1"),
            (self.colt_splits >= 1, "colt_splits", "must be >= 1"),
            (not (self.init_from and self.pruning), "init_from",
             "holds its masks fixed: it cannot be combined with a prune_schedule"),
            (self.eval_every >= 0, "eval_every", "must be >= 0 (0: only at the end)"),
            (self.eval_episodes >= 1, "eval_episodes", "must be >= 1"),
            (self.eval_seed >= 0, "eval_seed", "must be >= 0"),
            (self.checkpoint_every >= 1, "checkpoint_every", "must be >= 1"),
        ]
        for ok, name, message in checks:
            if not ok:
                raise ValueError(f"TrainConfig.{name} {message}, got {getattr(self, name)!r}")
        if self.scenario not in presets(self.env_version):
            raise ValueError(f"TrainConfig.scenario must be one of {sorted(presets(self.env_version))} with "
                             f"env_version {self.env_version}, got {self.scenario!r}")
        env = self.env_config()  # unknown or invalid env overrides raise here
        if self.credit == "difference" and env.capture_threshold_db is not None:
            raise ValueError("TrainConfig.credit 'difference' needs an environment without capture, got "
                             f"capture_threshold_db={env.capture_threshold_db}")
        if self.welfare == "episode_log" and self.credit == "difference":
            raise ValueError("TrainConfig.welfare 'episode_log' takes the team's credit, got credit 'difference'")
        if self.pruning:
            self.pruning_horizon()  # warm-up and end-lock must leave room for the schedule

    @property
    def pruning(self) -> bool:
        return self.prune_schedule != "none"

    def pruning_horizon(self) -> Horizon:
        try:
            return Horizon(self.iterations, int(self.prune_warmup or 0), int(self.prune_end_lock or 0))
        except ValueError as e:
            raise ValueError(f"TrainConfig.prune_warmup/prune_end_lock/iterations: {e}") from None

    def harmonic(self) -> Harmonic:
        """The harmonic schedule's settings as one typed object."""
        return Harmonic(base=self.harmonic_base, amplitude=self.harmonic_amplitude, period=self.harmonic_period,
                        decay=self.harmonic_decay, stretch=self.harmonic_stretch, power=self.poly_power)

    def sparsity_schedule(self) -> Callable[[int], float]:
        """The target sparsity as a function of the iteration."""
        return make_schedule(self.prune_schedule, self.pruning_horizon(), self.final_sparsity,
                             self.initial_sparsity, power=self.poly_power, harmonic=self.harmonic())

    def env_config(self) -> DSAConfig:
        """The resolved DSAConfig (a DSAConfigV1 with env_version v1)."""
        return make_env_config(self.env_version, self.scenario, **self.env)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def changed(self) -> dict[str, Any]:
        """The fields whose values differ from the defaults (the scenario's own defaults, and the
        10% warm-up and end-lock, count as defaults)."""
        default = {**TrainConfig().to_dict(), **BASE_DEFAULTS, **SCENARIO_DEFAULTS.get(self.scenario, {})}
        for key in ("prune_warmup", "prune_end_lock"):  # defaults that follow the iterations
            default[key] = int(self.iterations or 0) // 10
        return {k: v for k, v in self.to_dict().items() if default[k] != v}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from a mapping; unknown keys raise ValueError."""
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown config key(s): {sorted(unknown)}")
        return cls(**values)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` through a temporary file and a rename: a kill never leaves half a file."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_config(config: TrainConfig, path: Path) -> None:
    write_atomically(path, json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n")


RECORDED_BEFORE: dict[str, Any] = {"share_actor_params": False, "credit": "team", "welfare": "sum",
                                   "actor_head_gain": 0.01}
"""Fields added after runs were first stored, with the value those runs used: a config.json
without them is read with these, not with today's scenario default."""


def load_run_config(run_dir: Path | str) -> TrainConfig:
    """The config of a run folder; a missing or invalid ``config.json`` raises ValueError."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise ValueError(f"{run_dir} is not a run folder (no config.json)")
    try:
        values = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from None
    if not isinstance(values, dict):
        raise ValueError(f"{path} must hold a JSON object of config keys, got {type(values).__name__}")
    return config_from_saved(values)


def config_from_saved(values: dict[str, Any]) -> TrainConfig:
    """The config that stored ``config.json`` values describe (fields added since take their
    :data:`RECORDED_BEFORE` value); unknown keys raise ValueError."""
    return TrainConfig.from_dict({**RECORDED_BEFORE, **values})
