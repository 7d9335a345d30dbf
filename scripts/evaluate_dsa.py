"""Evaluate DSA policies against the conventional baselines and the centralised reference.

    python scripts/evaluate_dsa.py --scenario all            # baselines on every preset
    python scripts/evaluate_dsa.py --env-version v1          # dsa_v1: every reference policy
    python scripts/evaluate_dsa.py RUN_DIR                   # a trained run vs the baselines
    python scripts/evaluate_dsa.py RUN_DIR --probe           # ... and the probe-then-settle heuristics
    python scripts/evaluate_dsa.py --env-version v1 --blind  # ... and the schedules blind to the gains
    python scripts/evaluate_dsa.py RUN_DIR --waterfall w.png # ... and a picture of one episode
    python scripts/evaluate_dsa.py RUN_DIR --shares          # ... and where each user transmits

Use it to put a finished run beside the conventional baselines and the reference on the same
episodes, or to tabulate the baselines alone; to compare many runs use scripts/sweep.py. Prints,
per scenario, each policy's utility (team reward per slot, mean +- 95% CI over episodes), its
fraction of the centralised reference's (v0: the genie oracle), success, collision and
fairness; on dsa_v1 also the windowed fairness, delivered packets, drop rate and delay, and
what adapting is worth (the points the best non-adaptive schedule misses).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from envs.dsa import VERSIONS, DSAConfig, evaluate, make_env_config, presets, version_of
from envs.dsa.baselines import ProbeThenSettle
from envs.dsa.fields import non_negative_int, positive_int
from envs.dsa.references import StaticSchedule, conventional_policies, reference_policy, score_metric
from envs.dsa.waterfall import play_episode, waterfall_image
from marl_prune.experiments.plots import plot_waterfalls
from marl_prune.experiments.report import Report
from marl_prune.learner.evaluation import ActorPolicy
from marl_prune.learner.runs import load_trained_actors


def evaluation_table(policies: dict, config: DSAConfig, episodes: int, seed: int) -> list[dict]:
    """One row per policy, the reference last; every policy sees the same channel realisation
    (same seed). ``vs_reference`` is the scenario's score (utility, or v1 ``fair``'s geometric
    throughput) as a fraction of the centralised reference's."""
    name = "oracle" if version_of(config) == "v0" else "reference"  # v0's reference is the genie
    policies = {**policies, name: reference_policy(config)}
    results = {name: evaluate(p, config, episodes=episodes, seed=seed) for name, p in policies.items()}
    metric = score_metric(config)
    reference = results[name].mean(metric)
    return [{"policy": name, "utility": r.mean(), "ci95": r.ci95(), "vs_reference": r.mean(metric) / reference,
             "shares": r.channel_shares, "transmit_share": r.transmit_share, **{m: r.mean(m) for m in r.episodes}}
            for name, r in results.items()]


def print_table(report: Report, title: str, rows: list[dict], v1: bool) -> None:
    """The table as an indented (code) block, so it reads the same printed and in Markdown."""
    report.emit(f"\n{title}\n")
    head = f"    {'policy':>20} {'utility':>16} {'vs ref.':>9} {'success':>8} {'collision':>9} {'fairness':>8}"
    report.emit(head + (f" {'window':>7} {'deliv.':>7} {'drops':>6} {'delay':>6}" if v1 else ""))
    for r in rows:
        line = (f"    {r['policy']:>20} {r['utility']:8.3f} +-{r['ci95']:6.3f} {r['vs_reference']:9.1%} "
                f"{r['success_rate']:8.3f} {r['collision_rate']:9.3f} {r['fairness']:8.3f}")
        if v1:
            line += (f" {r['fairness_window']:7.3f} {r['delivered']:7.2f} {r['drop_rate']:6.1%} "
                     f"{r['delay']:6.1f}")
        report.emit(line)


def print_shares(report: Report, row: dict) -> None:
    """Where each user of one policy transmitted: its share of slots idle or on each channel,
    per phase of the frame clock (one line per user and phase)."""
    users, phases, columns = row["shares"].shape
    report.emit(f"\nWhere each user transmits, {row['policy']} (share of its slots; phase: slot index modulo "
                f"the frame clock)\n")
    report.emit("    user phase   idle " + " ".join(f"{f'ch {k}':>6}" for k in range(columns - 1)))
    for user in range(users):
        for phase in range(phases):
            report.emit(f"    {user:>4} {phase:>5} " + " ".join(f"{v:6.2f}" for v in row["shares"][user, phase]))
    share = row["transmit_share"]
    report.emit(f"\nEpisodes ({len(share)}) in which each user transmits in at least 90% of the slots (holds a "
                f"channel), in at most 10% (stays out), and its mean share of slots\n")
    report.emit("    user   holds  stays out  mean")
    for user in range(users):
        s = share[:, user]
        report.emit(f"    {user:>4} {np.mean(s >= 0.9):7.2f} {np.mean(s <= 0.1):10.2f} {s.mean():5.2f}")


def adapting_worth(report: Report, rows: list[dict]) -> None:
    """The points of the centralised reference that the best non-adaptive schedule misses."""
    static = max((r for r in rows if r["policy"] in ("fixed", "tdma")), key=lambda r: r["vs_reference"])
    report.emit(f"\nAdapting is worth {1 - static['vs_reference']:.0%} of the centralised reference here: the best "
                f"non-adaptive schedule ({static['policy']}) reaches {static['vs_reference']:.1%}.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?", type=Path, help="a training run folder")
    parser.add_argument("--env-version", choices=VERSIONS, default="v0",
                        help="environment version of --scenario (default: v0; a run folder has its own)")
    parser.add_argument("--scenario", default=None,
                        help="preset of the version, or 'all' (default: all; with a run folder: the run's)")
    parser.add_argument("--episodes", type=positive_int, default=64,
                        help="evaluation episodes per policy (default: 64)")
    parser.add_argument("--seed", type=non_negative_int, default=10_000,
                        help="evaluation seed: the channel realisation (default: 10000)")
    parser.add_argument("--out", type=Path, default=None,
                        help="also write the tables, with this command, to a Markdown file")
    parser.add_argument("--probe", action="store_true",
                        help="add the probe-then-settle heuristics (v0, static channels): each user tries "
                             "every channel once, then the users settle, matched centrally on the probed "
                             "gains or each on its own best channel; what adapting within an episode is worth")
    parser.add_argument("--blind", action="store_true",
                        help="add the non-adaptive schedules planned without the episode's gains (v1): "
                             "fixed and TDMA with users on channels by their index; what a team that "
                             "learned a schedule reaches without adapting it to the episode")
    parser.add_argument("--waterfall", type=Path, default=None, metavar="FILE.png",
                        help="with a run folder: draw one episode (the evaluation seed) of the learned team, "
                             "the centralised reference and the best conventional baseline, stacked "
                             "(channels x slots; needs matplotlib)")
    parser.add_argument("--shares", action="store_true",
                        help="with a run folder: where each user of the learned team (as the run was "
                             "evaluated, greedy or sampled) transmits, per phase of the frame clock")
    args = parser.parse_args(argv)
    if args.waterfall is not None and args.run_dir is None:
        parser.error("--waterfall draws a trained run: give its RUN_DIR")
    if args.shares and args.run_dir is None:
        parser.error("--shares tabulates a trained run: give its RUN_DIR")
    extra = {"probe, central settle": ProbeThenSettle("central"), "probe, own settle": ProbeThenSettle("own")} \
        if args.probe else {}
    if args.blind:
        extra |= {"fixed, gains unknown": StaticSchedule("fixed", know_gains=False),
                  "tdma, gains unknown": StaticSchedule("tdma", know_gains=False)}
    report = Report()
    v1 = args.env_version == "v1"

    if args.run_dir is None:
        if args.blind and not v1:
            parser.error("--blind adds schedules of dsa_v1: give --env-version v1 (or a v1 run folder)")
        names = list(presets(args.env_version)) if args.scenario in (None, "all") else [args.scenario]
        for name in names:
            if name not in presets(args.env_version):
                parser.error(f"unknown {args.env_version} scenario {name!r}; choose one of "
                             f"{sorted(presets(args.env_version))} or 'all'")
            cfg = make_env_config(args.env_version, name)
            rows = evaluation_table({**conventional_policies(cfg), **extra}, cfg, args.episodes, args.seed)
            print_table(report, f"scenario {name} ({args.episodes} episodes, seed {args.seed})", rows, v1)
            if v1:
                adapting_worth(report, rows)
        report.save(args.out, "Conventional baselines and the centralised reference")
        return 0
    try:
        actors, config = load_trained_actors(args.run_dir)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.scenario not in (None, config.scenario):
        parser.error(f"the run was trained on {config.scenario!r}; evaluating on another scenario "
                     "needs the same observation and action sizes")
    if args.blind and config.env_version != "v1":
        parser.error("--blind adds schedules of dsa_v1, and the run was trained on v0")
    cfg = config.env_config()
    baselines = conventional_policies(cfg)
    policies = {"learned": ActorPolicy(actors, greedy=True),
                "learned (sampled)": ActorPolicy(actors, greedy=False), **baselines, **extra}
    rows = evaluation_table(policies, cfg, args.episodes, args.seed)
    v1 = config.env_version == "v1"
    print_table(report, f"run {args.run_dir} on {config.scenario} ({args.episodes} episodes, seed {args.seed})",
                rows, v1)
    if v1:
        adapting_worth(report, rows)
    learned = "learned" if config.eval_greedy else "learned (sampled)"  # as the run was evaluated
    if args.shares:
        print_shares(report, next(r for r in rows if r["policy"] == learned))
    report.save(args.out, f"Evaluation of {args.run_dir.name}")
    if args.waterfall is not None:
        best = max((r for r in rows if r["policy"] in baselines), key=lambda r: r["vs_reference"])
        reference = rows[-1]["policy"]
        drawn = {f"learned ({'greedy' if config.eval_greedy else 'sampled'})": policies[learned],
                 f"{reference} (centralised)": reference_policy(cfg),
                 f"{best['policy']} (best conventional baseline)": policies[best["policy"]]}
        path = plot_waterfalls({f"{title}, seed {args.seed}": waterfall_image(play_episode(policy, cfg, args.seed))
                                for title, policy in drawn.items()}, cfg.n_users, args.waterfall)
        report.emit(f"\nwaterfall: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
