"""The method paper's comparison (Stamatelis et al., arXiv 2503.15172): a preset of the sweep engine.

    python scripts/reproduce_paper.py --budget smoke        # minutes: checks the pipeline
    python scripts/reproduce_paper.py --budget full         # hours: the numbers for docs/results
    python scripts/reproduce_paper.py --env-version v1 --budget full --widths 8 16 32 64 128
    python scripts/reproduce_paper.py --env-version v1 --budget full --hidden-size W
    python scripts/reproduce_paper.py --env-version v1 --budget full --tune-schedules

Use it to regenerate docs/results/paper_<budget>/ (v1: docs/results/paper_v1/<budget>/) or to
check the paper's claims on new runs; for any other grid use scripts/sweep.py, which this script
drives with fixed arguments. Dense IAGC (independent actors, global critic) vs gradual pruning
with the linear, polynomial and harmonic schedules at final sparsities 0.5 / 0.75 / 0.9 / 0.95,
random pruning, and the MADRL baseline (IPPO-style local critics), on `basic`, `snr` and `pu`;
the conventional baselines (random access, tuned ALOHA, stay-on-success) are drawn as lines.
Writes tables, plots, claims.md (a verdict per claim and scenario, Welch t-test over seeds) and
a README with this command. Run the same command again to resume; the finished runs' records in
OUT/records/ (commit them) let it resume on another checkout too.

With ``--env-version v1`` the same comparison runs where adapting pays (`pu_traffic` and
`gilbert`, each at its own training budget), adds LAMP allocation, IMP with rewinding and COLT
(the last two, which train several times per run, at 0.9 and 0.95 only) and a final sparsity
of 0.98; teams are evaluated on sampled actions, as in the README's v1 table. ``--widths``
runs dense IAGC at each actor width instead, to find the width where capacity starts to limit
the team (marl_prune/experiments/widths.py); ``--hidden-size`` then runs the comparison at the
chosen width. ``--tune-schedules`` instead tunes the linear, polynomial and harmonic schedules with
equal effort (nine settings each, on the tuning seeds, at one final sparsity), then trains each
schedule's best setting on fresh ``--confirm-seeds`` and compares those
(marl_prune/experiments/tuning.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from marl_prune.experiments import tuning
from marl_prune.experiments.backends import Backend, SweepIncomplete
from marl_prune.experiments.claims import against_dense_table, check_claims, claims_table
from marl_prune.experiments.grid import expand, run_name
from marl_prune.experiments.report import run_and_report
from marl_prune.experiments.widths import width_section
from marl_prune.learner.config import TrainConfig

BUDGETS = {
    "smoke": dict(iterations=6, num_envs=8, eval_episodes=16, seeds=[1, 2, 3]),
    # 100 iterations x 32 envs x 100 slots: where dense IAGC's learning curve on snr flattens;
    # 162 runs (--seeds 1 2 3) took 1 h 43 min on 2 cores, so all 5 seeds take ~3 h
    "full": dict(iterations=100, num_envs=32, eval_episodes=64, seeds=[1, 2, 3, 4, 5]),
}
BUDGETS_V1 = {
    "smoke": dict(iterations=6, num_envs=8, eval_episodes=16, seeds=[1, 2, 3]),
    # each preset's own budget (train_dsa.py's defaults), where its learned team beats the baselines
    "full": dict(iterations=None, num_envs=32, eval_episodes=64, seeds=[1, 2, 3, 4, 5]),
}
METHODS = ["dense", "ippo", "linear", "polynomial", "harmonic", "random"]
METHODS_V1 = METHODS + ["lamp", "imp", "colt"]
SEVERAL_TRAININGS = ("imp", "colt")
"""Methods that train several times per run: on v1 only at 0.9 and 0.95."""
SCENARIOS_V1 = ["pu_traffic", "gilbert"]
"""Where adapting is worth most among the presets the learner solves (61 and 33 points of the
centralised reference; ``fair`` is not solved, ``traffic`` needs 800 iterations per run)."""
SPARSITIES_V1 = [0.5, 0.75, 0.9, 0.95, 0.98]
WIDTHS = [8, 16, 32, 64, 128]
TUNING_SCENARIOS = ["pu_traffic"]
"""Where the schedules separate most (at 0.95: linear 32.6%, polynomial 39.8%, Welch p = 0.014)."""
TUNING_SPARSITY = 0.95
TUNING_SEEDS = [1, 2, 3]
CONFIRM_SEEDS = [6, 7, 8, 9, 10]
"""Fresh seeds: none of them is a tuning seed or a seed of the comparison's runs."""


def width_configs(scenarios: list[str], widths: list[int], seeds: list[int], runs_dir: str,
                  base: dict) -> list[TrainConfig]:
    """Dense IAGC at every actor width, each width a method of its own (``dense_h<width>``)."""
    configs = []
    for width in widths:
        label = f"dense_h{width}"
        for c in expand(scenarios, ["dense"], [0.0], seeds, runs_dir, {**base, "hidden_size": width}):
            configs.append(dataclasses.replace(c, label=label, run_name=run_name(c.scenario, label, 0.0, c.seed)))
    return configs


def comparison_configs(scenarios: list[str], methods: list[str], sparsities: list[float], seeds: list[int],
                       runs_dir: str, base: dict) -> list[TrainConfig]:
    """The comparison's runs; on v1, the methods that train several times only at 0.9 and 0.95."""
    v1 = base.get("env_version") == "v1"
    several = [m for m in methods if v1 and m in SEVERAL_TRAININGS]
    configs = expand(scenarios, [m for m in methods if m not in several], sparsities, seeds, runs_dir, base)
    high = [s for s in sparsities if s in (0.9, 0.95)]
    if several and high:
        configs += expand(scenarios, several, high, seeds, runs_dir, base)
    return configs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="smoke",
                        help="smoke: 6 iterations x 8 envs (a pipeline check); full: 100 x 32 on v0, each "
                             "preset's own iterations x 32 on v1 (default: smoke)")
    parser.add_argument("--env-version", choices=["v0", "v1"], default="v0",
                        help="v0: the paper's presets; v1: the presets where adapting pays (default: v0)")
    parser.add_argument("--scenarios", nargs="+", default=None,
                        help=f"DSA presets (default: basic snr pu; v1: {' '.join(SCENARIOS_V1)})")
    parser.add_argument("--sparsities", nargs="+", type=float, default=None,
                        help="final sparsities (default: 0.5 0.75 0.9 0.95; v1: also 0.98; imp and colt: "
                             "only 0.9 and 0.95 of them)")
    parser.add_argument("--seeds", nargs="+", type=int, default=None, help="default: the budget's seeds")
    parser.add_argument("--methods", nargs="+", default=None, choices=METHODS_V1,
                        help=f"a subset of the paper's methods (default: {' '.join(METHODS)}; v1: also lamp imp "
                             "colt)")
    parser.add_argument("--hidden-size", type=int, default=None,
                        help="the actors' width (default: the trainer's, 64); outputs get an _h<width> suffix")
    parser.add_argument("--widths", nargs="+", type=int, default=None,
                        help=f"instead of the comparison: dense IAGC at each actor width (e.g. "
                             f"{' '.join(map(str, WIDTHS))}), to find where capacity starts to limit it")
    parser.add_argument("--tune-schedules", action="store_true",
                        help=f"instead of the comparison: tune linear, polynomial and harmonic with "
                             f"{len(tuning.SCHEDULE_GRIDS['harmonic'])} settings each on --seeds (default: "
                             f"{' '.join(map(str, TUNING_SEEDS))}) at one final sparsity (default: {TUNING_SPARSITY}) "
                             f"on --scenarios (default: {' '.join(TUNING_SCENARIOS)}), then compare each one's best "
                             "setting on --confirm-seeds")
    parser.add_argument("--confirm-seeds", nargs="+", type=int, default=CONFIRM_SEEDS,
                        help=f"with --tune-schedules: the seeds the picks are compared on (default: "
                             f"{' '.join(map(str, CONFIRM_SEEDS))}; none may be a tuning seed)")
    parser.add_argument("--prune-mode", choices=["reference", "strict"], default="reference",
                        help="reference: pruned weights train freely between events (the paper); "
                             "strict: masks hold between events (runs and outputs get a _strict suffix)")
    parser.add_argument("--runs-dir", default=None, help="default: runs/<the output folder's name>")
    parser.add_argument("--out", type=Path, default=None,
                        help="default: docs/results/paper_<budget>[_strict] (v0) or docs/results/paper_v1/<budget>"
                             "[_h<width>|_widths|_tuning][_strict] (v1)")
    Backend.add_arguments(parser)
    args = parser.parse_args(argv)
    v1 = args.env_version == "v1"
    if not v1 and (set(args.methods or []) - set(METHODS)):
        parser.error(f"--methods {' '.join(sorted(set(args.methods) - set(METHODS)))} need --env-version v1")
    if args.widths is not None and args.hidden_size is not None:
        parser.error("--widths and --hidden-size exclude each other")
    if args.tune_schedules and (args.widths is not None or args.methods is not None):
        parser.error("--tune-schedules excludes --widths and --methods (it tunes linear, polynomial and harmonic)")
    budget = (BUDGETS_V1 if v1 else BUDGETS)[args.budget]
    scenarios = args.scenarios or (SCENARIOS_V1 if v1 else ["basic", "snr", "pu"])
    methods = args.methods or (METHODS_V1 if v1 else METHODS)
    sparsities = args.sparsities or (SPARSITIES_V1 if v1 else [0.5, 0.75, 0.9, 0.95])
    seeds = args.seeds or budget["seeds"]
    variant = (args.budget + (f"_h{args.hidden_size}" if args.hidden_size else "")
               + ("_widths" if args.widths else "") + ("_tuning" if args.tune_schedules else "")
               + ("_strict" if args.prune_mode == "strict" else ""))
    name = f"paper_{'v1_' if v1 else ''}{variant}"
    default_out = Path("docs/results/paper_v1", variant) if v1 else Path("docs/results", name)
    runs_dir, out = args.runs_dir or f"runs/{name}", args.out or default_out
    base = {"iterations": budget["iterations"], "num_envs": budget["num_envs"],
            "eval_episodes": budget["eval_episodes"], "eval_every": 0, "prune_mode": args.prune_mode}
    if v1:  # sampled evaluation, as in the v1 table: randomness resolves the contention that adapting meets
        base.update(env_version="v1", eval_greedy=False)
    if args.hidden_size:
        base["hidden_size"] = args.hidden_size
    if args.tune_schedules:
        return tune_schedules(args, base, runs_dir, out)
    try:
        if args.widths:
            configs = width_configs(scenarios, args.widths, seeds, runs_dir, base)
        else:
            configs = comparison_configs(scenarios, methods, sparsities, seeds, runs_dir, base)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    def claims(records: list[dict], baselines: dict[str, dict[str, float]]) -> str:
        if args.widths:
            return width_section(records, baselines, out)
        # the paper's "high sparsity": every final sparsity of 0.9 or more in the grid (v1: 0.98 too)
        verdicts = check_claims(records, baselines, high=[s for s in sorted(sparsities) if s >= 0.9])
        if not verdicts:
            return "No claims checked: the claims compare against dense IAGC, which this sweep did not run."
        table = claims_table(verdicts)
        (out / "claims.md").write_text(table)
        return ("## The paper's claims (Welch t-test over seeds, alpha 0.05)\n\n" + table
                + "\n## Every configuration against dense IAGC (Welch t-test, Bonferroni over each scenario's "
                "configurations)\n\n" + against_dense_table(records))

    try:
        title = (f"Actor width, dense IAGC, {args.env_version}, {args.budget} budget" if args.widths else
                 f"Paper comparison, {'v1, ' if v1 else ''}{args.budget} budget")
        run_and_report(configs, Backend.from_args(args, out), out, title,
                       sections=claims)
    except (ValueError, ImportError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def tune_schedules(args: argparse.Namespace, base: dict, runs_dir: str, out: Path) -> int:
    """The tuning runs first; once all have finished, each schedule's pick on the confirmation
    seeds; then one report of both."""
    seeds = args.seeds or TUNING_SEEDS
    sparsities = args.sparsities or [TUNING_SPARSITY]
    backend = Backend.from_args(args, out)
    try:
        if len(sparsities) != 1:
            raise ValueError(f"--tune-schedules tunes at one final sparsity, got {sparsities}")
        if set(seeds) & set(args.confirm_seeds):
            raise ValueError(f"--confirm-seeds {sorted(set(seeds) & set(args.confirm_seeds))} are also tuning seeds: "
                             "the picks must be compared on seeds that played no part in picking them")
        configs = tuning.tuning_configs(args.scenarios or TUNING_SCENARIOS, sparsities[0], seeds, runs_dir, base)
        incomplete = None
        try:
            picks = tuning.pick_best(backend.run(configs))
            configs += tuning.confirmation_configs(picks, sparsities[0], args.confirm_seeds, runs_dir, base)
        except SweepIncomplete as e:  # no picks before every tuning run has finished
            incomplete, backend = e, dataclasses.replace(backend, report_only=True)
        run_and_report(configs, backend, out, f"Schedule tuning, {args.env_version}, {args.budget} budget",
                       sections=lambda records, _: tuning.tuning_section(records))
        if incomplete is not None and not args.report_only:
            raise incomplete
    except (ValueError, ImportError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
