"""What exchanging the cells of the TDMA frame is worth on ``fair``: for a genie, and for rules
that users could run on their own.

    python scripts/fair_exchange.py --out docs/results/v1_fair_exchange.md
    python scripts/fair_exchange.py --env gain_std_db=0.0 --env rayleigh_fading=False \
        --env ge_p_gb=0.05 --env ge_p_bg=0.1 --out docs/results/v1_fair_exchange_nofade.md

On ``fair`` six users fill the six (phase, channel) cells of the 2-slot frame, so the only
way to adapt is to exchange cells: a user whose link is bad gives its cell to the user that
holds the same channel in the other phase. This script puts numbers on that, against the
frame planned on the mean gain (users on channels by their index, as a learned team takes
them):

* genie: the owner of a cell sends only while its Gilbert-Elliott link is good, and with
  ``exchange`` its partner, knowing both links' states, sends in its place when its own link
  is good. No user can know the partner's state, so this is a bound, not a rule.
* yield-and-probe, decentralised (each user sees only its own ACKs and the clock): after a
  failure in its own cell a user skips its next ``yield_slots`` own-phase slots; in the
  partner's phase it probes its channel with probability ``probe`` and keeps sending there
  while it succeeds. With 0 and 0 it is the frame itself.
* seating by one's own gains, decentralised but told more than a user sees: musical chairs
  over the frame's cells, where a user without a cell tries channel k with probability in
  proportion to exp(value_k / temperature) of its own links' expected values on this
  episode's static gains. A user could learn those only by sending into other users' cells,
  and never learns the others'; this asks whether knowing one's own is enough to re-match
  users to channels as TDMA planned on the episode's gains does.

Use it to see what adapting on ``fair`` can be worth to users who see only their own ACKs,
before trying another learner setting there (``--env`` gives a variant of the preset); to
score a trained team, use scripts/evaluate_dsa.py. Scores are the preset's own (the
geometric mean throughput, as a fraction of the proportional-fair scheduler's), on the
episodes scripts/evaluate_dsa.py uses.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from envs.dsa import evaluate
from envs.dsa.config_v1 import DSAConfigV1, make_config_v1
from envs.dsa.core import DSACore
from envs.dsa.fields import non_negative_int, positive_int
from envs.dsa.references import (
    MusicalChairs,
    StaticSchedule,
    coming_phase,
    expected_link_values,
    last_outcome,
    reference_policy,
    score_metric,
    v1_core,
)
from marl_prune.experiments.report import Report
from marl_prune.learner.cli import add_env_argument
from marl_prune.models.layout import sample_from_cdf

YIELD_SLOTS = (0, 1, 2, 3, 5, 8)
PROBES = (0.0, 0.05, 0.1, 0.2, 0.4)
TEMPERATURES = (100.0, 3.0, 1.0, 0.3, 0.1)


def frame_cells(core: DSACore, know_gains: bool) -> tuple[np.ndarray, np.ndarray]:
    """Each user's cell in the first frame of the TDMA schedule: its phase (-1: no cell) and
    the action it sends there (0: none), ``(B, N)`` each."""
    F = core.config.frame_clock
    plan = StaticSchedule("tdma", know_gains).initial_state(core, np.random.default_rng(0))["plan"][:F]
    phase = np.where(plan > 0, np.arange(F)[:, None, None], F).min(axis=0)  # (B, N)
    return np.where(phase < F, phase, -1), plan.max(axis=0)  # a user sends in one phase at most


class ExchangeGenie:
    """The TDMA frame; an owner sends only while its link is good and, with ``exchange``, its
    partner (the user on the same channel in the next phase) sends instead when its own link
    is good. Reads the links' Gilbert-Elliott states: a bound, not a rule."""

    def __init__(self, know_gains: bool, exchange: bool):
        self.frame, self.exchange = StaticSchedule("tdma", know_gains), exchange

    def initial_state(self, core: DSACore, rng: np.random.Generator) -> dict[str, Any]:
        return {**self.frame.initial_state(core, rng), "core": v1_core(core, "ExchangeGenie")}

    def __call__(self, obs: np.ndarray, state: dict[str, Any]) -> tuple[np.ndarray, Any]:
        core, plan, t = state["core"], state["plan"], state["t"]
        actions, following = plan[t % len(plan)].copy(), plan[(t + 1) % len(plan)]
        channel = np.where(actions > 0, (actions - 1) // core.n_levels, -1)
        next_channel = np.where(following > 0, (following - 1) // core.n_levels, -1)
        users = np.arange(core.n_users)
        for b, u in zip(*np.nonzero(actions > 0)):
            c = channel[b, u]
            if not core.ge_bad[b, u, c]:
                continue
            actions[b, u] = 0
            partner = users[next_channel[b] == c]
            if self.exchange and len(partner) and not core.ge_bad[b, partner[0], c]:
                actions[b, partner[0]] = following[b, partner[0]]
        state["t"] = t + 1
        return actions, state


class YieldAndProbe:
    """Decentralised exchange on the frame planned on the mean gain: skip ``yield_slots`` of
    one's own phases after a failure there; probe the partner's phase on one's own channel with
    probability ``probe``, and keep sending there while it succeeds."""

    def __init__(self, yield_slots: int, probe: float):
        self.yield_slots, self.probe = yield_slots, probe

    def initial_state(self, core: DSACore, rng: np.random.Generator) -> dict[str, Any]:
        core = v1_core(core, "YieldAndProbe")
        phase, action = frame_cells(core, know_gains=False)
        shape = (core.num_envs, core.n_users)
        return {"rng": rng, "phase": phase, "action": action,
                "wait": np.zeros(shape, dtype=np.int64), "holding": np.zeros(shape, dtype=bool),
                "A": core.n_actions, "F": core.config.frame_clock, "clock": core.clock_index}

    def __call__(self, obs: np.ndarray, state: dict[str, Any]) -> tuple[np.ndarray, Any]:
        _, sent, acked = last_outcome(obs, state["A"])
        now = coming_phase(obs, state["clock"], state["F"])
        played_own = state["phase"] == (now - 1) % state["F"]
        state["wait"] = np.where(sent & ~acked & played_own, self.yield_slots, state["wait"])
        state["holding"] = np.where(sent & ~played_own, acked, state["holding"])  # a probe's outcome
        own_turn = state["phase"] == now
        send_own = own_turn & (state["wait"] == 0)
        state["wait"] = np.where(own_turn & (state["wait"] > 0), state["wait"] - 1, state["wait"])
        probe = ~own_turn & (state["holding"] | (state["rng"].random(sent.shape) < self.probe))
        return np.where(send_own | probe, state["action"], 0).astype(np.int64), state


class OwnGainChairs(MusicalChairs):
    """Musical chairs over the frame's cells; a user without a cell tries channel k with
    probability in proportion to exp(value_k / ``temperature``), the values of its own links
    on this episode's static gains: given to it here, though a real user does not know them."""

    def __init__(self, temperature: float):
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        super().__init__(frame=True)
        self.temperature = temperature

    def initial_state(self, core: DSACore, rng: np.random.Generator) -> dict[str, Any]:
        state = super().initial_state(core, rng)
        value, _ = expected_link_values(v1_core(core, "OwnGainChairs"), know_gains=True)
        weight = np.exp((value - value.max(axis=-1, keepdims=True)) / self.temperature)
        state["cdf"] = np.cumsum(weight / weight.sum(axis=-1, keepdims=True), axis=-1)  # (B, N, K)
        return state

    def _hop(self, state: dict[str, Any], shape: tuple[int, ...]) -> np.ndarray:
        return sample_from_cdf(state["cdf"], state["rng"])  # one draw per user: ``shape``, (B, N)


def score(policy: Any, config: DSAConfigV1, episodes: int, seed: int, reference: float) -> tuple[float, float]:
    """The policy's score as a fraction of the reference's, and its collision rate."""
    result = evaluate(policy, config, episodes=episodes, seed=seed)
    return result.mean(score_metric(config)) / reference, result.mean("collision_rate")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_env_argument(parser, "override a field of the fair preset, e.g. --env rayleigh_fading=False")
    parser.add_argument("--episodes", type=positive_int, default=64, help="evaluation episodes (default: 64)")
    parser.add_argument("--seed", type=non_negative_int, default=10000, help="evaluation seed (default: 10000)")
    parser.add_argument("--out", type=Path, help="also write the tables, with this command, to a Markdown file")
    args = parser.parse_args(argv)
    try:
        config = make_config_v1("fair", **dict(args.env or []))
    except (TypeError, ValueError) as error:
        parser.error(str(error))
    if config.frame_clock != 2:
        parser.error(f"the exchange is between the two phases of a 2-slot frame; got frame_clock={config.frame_clock}")
    central = evaluate(reference_policy(config), config, episodes=args.episodes, seed=args.seed)
    reference = central.mean(score_metric(config))

    report = Report()
    variant = "" if not args.env else " with " + ", ".join(f"{k}={v}" for k, v in args.env)
    report.emit(f"fair{variant}: {args.episodes} episodes, seed {args.seed}; score as a fraction of the "
                "proportional-fair scheduler's\n")
    report.emit("| schedule | score | collision rate |\n|---|---|---|")
    rows = {"TDMA planned on the episode's gains": StaticSchedule("tdma", True),
            "TDMA planned on the mean gain (users on channels by index)": StaticSchedule("tdma", False),
            "genie: owner skips its bad links": ExchangeGenie(False, exchange=False),
            "genie: partner takes a bad link's cell (mean-gain frame)": ExchangeGenie(False, exchange=True),
            "genie: partner takes a bad link's cell (episode-gain frame)": ExchangeGenie(True, exchange=True)}
    for name, policy in rows.items():
        value, collisions = score(policy, config, args.episodes, args.seed, reference)
        report.emit(f"| {name} | {value:.1%} | {collisions:.3f} |")

    report.emit("\nYield-and-probe (decentralised), score per setting (0 and 0: the mean-gain frame itself):\n")
    report.emit("| yield slots | " + " | ".join(f"probe {q}" for q in PROBES) + " |")
    report.emit("|---|" + "---|" * len(PROBES))
    best = (-np.inf, None)
    for y in YIELD_SLOTS:
        cells = []
        for q in PROBES:
            value, collisions = score(YieldAndProbe(y, q), config, args.episodes, args.seed, reference)
            cells.append(f"{value:.1%} (coll. {collisions:.2f})")
            if (y, q) != (0, 0.0) and value > best[0]:
                best = (value, (y, q))
        report.emit(f"| {y} | " + " | ".join(cells) + " |")
    report.emit(f"\nBest adapting setting: yield {best[1][0]}, probe {best[1][1]}: {best[0]:.1%}.")

    report.emit("\nSeating by one's own gains (musical chairs over the frame's cells; a user without a cell "
                "tries channel k with probability ~ exp(value_k / temperature) of its own links; "
                "temperature 100: nearly the uniform hops of plain musical chairs):\n")
    report.emit("| temperature | score | collision rate |\n|---|---|---|")
    for temperature in TEMPERATURES:
        value, collisions = score(OwnGainChairs(temperature), config, args.episodes, args.seed, reference)
        report.emit(f"| {temperature:g} | {value:.1%} | {collisions:.3f} |")
    report.save(args.out, "Exchanging the frame's cells on fair: genie bounds and decentralised rules")


if __name__ == "__main__":
    main()
