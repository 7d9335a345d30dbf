"""The training configuration, and reading it from the command line and TOML/YAML files."""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import json
import sys
import textwrap
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from envs.dsa import PRESETS, make_config
from marl_prune.pruning import MODES, SCHEDULES, SCOPES, Horizon, make_schedule
from marl_prune.pruning.schedules import BASES

PRUNE_METHODS = ("gradual", "imp", "swamp", "colt")


@dataclass
class TrainConfig:
    """Independent recurrent actors with a global critic, trained with PPO on DSA."""

    # --- run
    scenario: str = "basic"
    """DSA preset: basic, snr, pu or large."""
    env: dict[str, Any] = field(default_factory=dict)
    """Overrides of DSAConfig fields, e.g. {"max_cycles": 50} (CLI: --env max_cycles=50)."""
    seed: int = 1
    """Seed of everything: environment, initialisation, sampling, minibatch order."""
    runs_dir: str = "runs"
    """Folder that holds one sub-folder per run."""
    run_name: str | None = None
    """Run folder name; default {scenario}__{critic}__s{seed}__{unix time}."""
    device: str = "cpu"
    """torch device: cpu, cuda or auto (cuda when available)."""
    torch_threads: int = 1
    """torch intra-op threads (results are reproducible for a fixed value)."""
    # --- rollouts
    iterations: int = 300
    """Training iterations; each collects num_steps slots from num_envs copies."""
    num_envs: int = 32
    """Environment copies stepped in lockstep."""
    num_steps: int = 100
    """Slots per rollout (a multiple of bptt_chunk)."""
    # --- model
    hidden_size: int = 64
    """Width of the actor's Linear and GRU layers."""
    share_actor_params: bool = False
    """One actor for all users instead of independent parameters."""
    critic: str = "global"
    """global: one MLP critic on the global state (IAGC); local: a recurrent critic per user
    on its own observations (IPPO-style baseline)."""
    critic_hidden: int = 128
    """Width of the critic."""
    # --- optimisation
    algo: str = "ppo"
    """ppo (clipped, several epochs) or a2c (one epoch, one minibatch, no clipping)."""
    learning_rate: float = 1e-3
    """Adam learning rate (actors and critic)."""
    anneal_lr: bool = True
    """Decay the learning rate linearly to 0 over the iterations."""
    gamma: float = 0.99
    """Discount factor."""
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
    vf_coef: float = 0.5
    """Value loss weight."""
    max_grad_norm: float = 0.5
    """Global gradient-norm clip."""
    norm_adv: bool = True
    """Normalise advantages per minibatch."""
    value_norm: bool = True
    """Train the critic on running-normalised returns."""
    # --- gradual pruning of the actors (SPEC §4)
    prune_schedule: str = "none"
    """none (dense), linear, polynomial or harmonic."""
    final_sparsity: float = 0.9
    """s_f: sparsity of the deployed actors."""
    initial_sparsity: float = 0.0
    """s_i: sparsity where the schedule starts after the warm-up."""
    prune_warmup: int = 30
    """e_w: dense iterations before the first pruning event."""
    prune_end_lock: int = 30
    """E_lock: last scheduled iterations held at final_sparsity."""
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
    # --- other pruning methods (SPEC §5) and transfer
    prune_method: str = "gradual"
    """gradual (the schedule above), or imp, swamp, colt: cycles of whole training runs with
    weight rewinding (see marl_prune/lottery_dsa.py)."""
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
    """Evaluate the greedy policy every this many iterations (0: only at the end)."""
    eval_episodes: int = 32
    """Episodes per evaluation."""
    eval_seed: int = 10_000
    """Seed of the evaluation episodes (the oracle is evaluated on the same ones)."""
    checkpoint_every: int = 50
    """Save a checkpoint every this many iterations (and always at the end)."""
    progress: bool = True
    """Show a progress line on stderr."""

    def __post_init__(self) -> None:
        checks = [
            (self.scenario in PRESETS, "scenario", f"must be one of {sorted(PRESETS)}"),
            (self.critic in ("global", "local"), "critic", "must be 'global' or 'local'"),
            (self.algo in ("ppo", "a2c"), "algo", "must be 'ppo' or 'a2c'"),
            (self.device in ("cpu", "cuda", "auto") or self.device.startswith("cuda:"), "device",
             "must be cpu, cuda, cuda:N or auto"),
            (self.iterations >= 1, "iterations", "must be >= 1"),
            (self.num_envs >= 1, "num_envs", "must be >= 1"),
            (self.bptt_chunk >= 1 and self.num_steps % self.bptt_chunk == 0, "bptt_chunk",
             f"must divide num_steps ({self.num_steps})"),
            (self.update_epochs >= 1 and self.num_minibatches >= 1, "update_epochs",
             "and num_minibatches must be >= 1"),
            (self.learning_rate > 0, "learning_rate", "must be > 0"),
            (0 <= self.gamma <= 1 and 0 <= self.gae_lambda <= 1, "gamma", "and gae_lambda must lie in [0, 1]"),
            (self.hidden_size >= 1 and self.critic_hidden >= 1, "hidden_size", "must be >= 1"),
            (self.prune_schedule in ("none", *SCHEDULES), "prune_schedule",
             f"must be none or one of {SCHEDULES}"),
            (0.0 <= self.initial_sparsity <= self.final_sparsity < 1.0, "final_sparsity",
             "must satisfy 0 <= initial_sparsity <= final_sparsity < 1"),
            (self.prune_every >= 1, "prune_every", "must be >= 1"),
            (self.prune_scope in SCOPES, "prune_scope", f"must be one of {SCOPES}"),
            (self.prune_score in ("magnitude", "random"), "prune_score", "must be magnitude or random"),
            (self.prune_mode in MODES, "prune_mode", f"must be one of {MODES}"),
            (self.harmonic_base in BASES, "harmonic_base", f"must be one of {BASES}"),
            (self.finetune_iterations >= 0, "finetune_iterations", "must be >= 0"),
            (self.prune_method in PRUNE_METHODS, "prune_method", f"must be one of {PRUNE_METHODS}"),
            (self.lottery_cycles >= 1, "lottery_cycles", "must be >= 1"),
            (self.lottery_rate is None or 0 < self.lottery_rate < 1, "lottery_rate", "must lie in (0, 1)"),
            (self.swamp_particles >= 1 and self.colt_splits >= 1, "swamp_particles", "and colt_splits must be >= 1"),
            (not (self.init_from and self.pruning), "init_from",
             "holds its masks fixed: it cannot be combined with a prune_schedule"),
        ]
        for ok, name, message in checks:
            if not ok:
                raise ValueError(f"TrainConfig.{name} {message}, got {getattr(self, name)!r}")
        make_config(self.scenario, **self.env)  # unknown or invalid env overrides raise here
        if self.prune_schedule != "none":
            self.pruning_horizon()  # warm-up and end-lock must leave room for the schedule

    @property
    def pruning(self) -> bool:
        return self.prune_schedule != "none"

    def pruning_horizon(self) -> Horizon:
        try:
            return Horizon(self.iterations, self.prune_warmup, self.prune_end_lock)
        except ValueError as e:
            raise ValueError(f"TrainConfig.prune_warmup/prune_end_lock/iterations: {e}") from None

    def sparsity_schedule(self):
        """The target sparsity as a function of the iteration."""
        params = {}
        if self.prune_schedule == "polynomial":
            params = {"power": self.poly_power}
        elif self.prune_schedule == "harmonic":
            params = {"base": self.harmonic_base, "amplitude": self.harmonic_amplitude,
                      "period": self.harmonic_period, "decay": self.harmonic_decay,
                      "stretch": self.harmonic_stretch, "power": self.poly_power}
        return make_schedule(self.prune_schedule, self.pruning_horizon(), self.final_sparsity,
                             self.initial_sparsity, **params)

    def env_config(self):
        """The resolved DSAConfig."""
        return make_config(self.scenario, **self.env)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from a mapping; unknown keys raise ValueError."""
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown config key(s): {sorted(unknown)}")
        return cls(**values)


def field_docs(cls: type) -> dict[str, str]:
    """The docstring written under each field of a dataclass (as CleanRL's tyro reads them)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for node, after in zip(body, body[1:]):
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)):
            docs[node.target.id] = " ".join(str(after.value.value).split())
    return docs


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML (.toml) or YAML (.yaml/.yml, needs PyYAML) file into a dict."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"config file not found: {path}")
    if path.suffix == ".toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover
            import tomli as tomllib
        with path.open("rb") as f:
            return tomllib.load(f)
    if path.suffix in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ValueError("reading YAML configs needs PyYAML: pip install pyyaml") from e
        data = yaml.safe_load(path.read_text()) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path} must hold a mapping of config keys")
        return data
    raise ValueError(f"config file must end in .toml, .yaml or .yml: {path}")


def _parse_env_override(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--env takes KEY=VALUE, got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def build_parser(description: str) -> argparse.ArgumentParser:
    """An argparse parser with one option per TrainConfig field (defaults left unset so that
    only the options given on the command line override a config file)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", type=Path, help="TOML or YAML file of config keys")
    parser.add_argument("--resume", type=Path, metavar="RUN_DIR",
                        help="continue an interrupted run from its last checkpoint")
    docs = field_docs(TrainConfig)
    hints = typing.get_type_hints(TrainConfig)
    defaults = TrainConfig()
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name)
        help_text = docs.get(f.name, "") + f" (default: {default!r})"
        kind = hints[f.name]
        optional = [a for a in typing.get_args(kind) if a is not type(None)]
        if type(None) in typing.get_args(kind) and len(optional) == 1:
            kind = optional[0]  # X | None takes an X on the command line
        if f.name == "env":
            parser.add_argument("--env", type=_parse_env_override, action="append",
                                metavar="KEY=VALUE", help=docs["env"], default=None)
        elif kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                                help=help_text)
        else:
            base = int if kind is int else float if kind is float else str
            parser.add_argument(flag, type=base, default=None, help=help_text,
                                choices=_CHOICES.get(f.name))
    parser.set_defaults(_description=description)
    return parser


_CHOICES = {
    "scenario": sorted(PRESETS),
    "critic": ["global", "local"],
    "algo": ["ppo", "a2c"],
    "prune_schedule": ["none", *SCHEDULES],
    "prune_scope": list(SCOPES),
    "prune_score": ["magnitude", "random"],
    "prune_mode": list(MODES),
    "harmonic_base": list(BASES),
    "prune_method": list(PRUNE_METHODS),
}


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Defaults, then the --config file, then command-line options."""
    values: dict[str, Any] = load_config_file(args.config) if args.config else {}
    for f in dataclasses.fields(TrainConfig):
        given = getattr(args, f.name, None)
        if given is None:
            continue
        values[f.name] = {**values.get("env", {}), **dict(given)} if f.name == "env" else given
    return TrainConfig.from_dict(values)


def save_config(config: TrainConfig, path: Path) -> None:
    path.write_text(json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n")


def load_run_config(run_dir: Path) -> TrainConfig:
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise ValueError(f"{run_dir} is not a run folder (no config.json)")
    try:
        return TrainConfig.from_dict(json.loads(path.read_text()))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from e
