"""Run an exported team on the DSA environment with numpy only, and print its utility.

    python scripts/run_exported.py export/team.safetensors [--episodes 32] [--sample --seed 0]

Use it on the deployment side, to check an exported file where torch is not installed; to
evaluate a run folder with torch use scripts/evaluate_dsa.py. Neither this script nor what it
imports loads torch: the policy is marl_prune.deploy.runtime and the environment is the numpy
core. The centralised reference (v0: the genie oracle) is evaluated on the same episodes.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from envs.dsa import DSACore, evaluate, make_env_config, version_of
from envs.dsa.fields import non_negative_int, positive_int
from envs.dsa.references import reference_policy, score_metric
from marl_prune.deploy.runtime import SparseTeam


class RuntimePolicy:
    """An exported team as an envs.dsa policy (batched over environment copies)."""

    def __init__(self, team: SparseTeam, greedy: bool = True):
        self.team, self.greedy = team, greedy

    def initial_state(self, core: DSACore, rng: np.random.Generator):
        self.team.reset(core.num_envs)
        return rng

    def __call__(self, obs: np.ndarray, rng: np.random.Generator):
        return self.team.act(obs, greedy=self.greedy, rng=rng), rng


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="an exported .safetensors file (team or single agent)")
    parser.add_argument("--episodes", type=positive_int, default=32, help="evaluation episodes (default: 32)")
    parser.add_argument("--seed", type=non_negative_int, default=10_000,
                        help="evaluation seed (default: 10000, the training runs' evaluation seed)")
    parser.add_argument("--sample", action="store_true", help="sample actions instead of argmax")
    args = parser.parse_args(argv)
    try:
        team = SparseTeam.load(args.path)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        config = make_env_config(team.header.get("env_version", "v0"), team.header["scenario"], **team.header["env"])
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        print(f"error: {args.path}: the header's environment is not valid ({e})", file=sys.stderr)
        return 2
    if len(team.agent_names) != config.n_users:
        print(f"error: the file holds {len(team.agent_names)} agent(s); the scenario has "
              f"{config.n_users} users: export the team file", file=sys.stderr)
        return 2
    result = evaluate(RuntimePolicy(team, greedy=not args.sample), config, args.episodes, seed=args.seed)
    reference = evaluate(reference_policy(config), config, args.episodes, seed=args.seed)
    name = "oracle" if version_of(config) == "v0" else "centralised reference"  # v0's reference is the genie
    metric = score_metric(config)  # what the scenario is judged on (v1 fair: geometric mean throughput)
    print(f"{team.header['scenario']}: utility {result.mean():.3f} +- {result.ci95():.3f} per slot "
          f"= {result.mean() / reference.mean():.1%} of the {name} ({reference.mean():.3f}); success "
          f"{result.mean('success_rate'):.3f}, collision {result.mean('collision_rate'):.3f}"
          + (f"; score ({metric}) {result.mean(metric) / reference.mean(metric):.1%} of the reference's"
             if metric != "utility" else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
