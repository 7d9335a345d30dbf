"""Plot every sparsity schedule over a run (matplotlib PNG).

    python scripts/plot_schedules.py --out docs/schedules.png [--iterations 300 --final 0.9]

Use it to see a schedule's targets before training with it; the targets and the realised
sparsity of actual runs are plotted by scripts/sweep.py. Draws linear, polynomial (k = 3) and
harmonic annealing (linear and cosine bases, defaults A0 = 0.1, T0 = 100) with the warm-up and
end-lock of the training defaults, as the targets a pruning event every `--every` iterations
would set.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from marl_prune.learner.config import TrainConfig


def main() -> None:
    defaults = TrainConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/schedules.png"),
                        help="the PNG (default: docs/schedules.png)")
    parser.add_argument("--iterations", type=int, default=defaults.iterations, help="E (default: 300)")
    parser.add_argument("--warmup", type=int, default=None, help="e_w (default: 10%% of the iterations)")
    parser.add_argument("--end-lock", type=int, default=None, help="E_lock (default: 10%% of the iterations)")
    parser.add_argument("--final", type=float, default=defaults.final_sparsity, help="s_f (default: 0.9)")
    parser.add_argument("--every", type=int, default=defaults.prune_every,
                        help="iterations between pruning events (default: 5)")
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = {
        "linear": dict(prune_schedule="linear"),
        "polynomial (k=3)": dict(prune_schedule="polynomial"),
        "harmonic, linear base": dict(prune_schedule="harmonic"),
        "harmonic, cosine base": dict(prune_schedule="harmonic", harmonic_base="cosine"),
    }
    fig, ax = plt.subplots(figsize=(8, 4.5))
    iterations = range(args.iterations)
    for label, fields in curves.items():
        config = TrainConfig(iterations=args.iterations, prune_warmup=args.warmup,
                             prune_end_lock=args.end_lock, final_sparsity=args.final, **fields)
        schedule = config.sparsity_schedule()
        line, = ax.plot(iterations, [schedule(e) for e in iterations], lw=1, alpha=0.5)
        events = [e for e in iterations if e % args.every == 0]
        ax.step(events, [schedule(e) for e in events], where="post", color=line.get_color(), label=label)
    warmup, end_lock = config.prune_warmup, config.prune_end_lock
    ax.axvline(warmup, color="grey", ls=":", lw=1)
    ax.axvline(args.iterations - end_lock, color="grey", ls=":", lw=1)
    ax.set(xlabel="iteration", ylabel="target sparsity",
           title=f"Sparsity schedules (s_f={args.final}, warm-up {warmup}, end-lock {end_lock}, "
                 f"event every {args.every})")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
