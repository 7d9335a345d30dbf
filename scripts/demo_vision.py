"""The shared pruning methods on a small CNN and scikit-learn's digits (no download).

    python scripts/demo_vision.py [--seeds 1 2 3] [--out docs/results/vision.md] [--quick]

Use it to see the shared methods on a CNN, where the literature reports them; the same
methods on the DSA actors run through scripts/sweep.py. Prints four tables (test accuracy,
mean +- std over seeds):
1. one-shot 90% pruning of a trained CNN with each layer allocation (global magnitude,
   uniform, uniform+, ERK, LAMP), before and after fine-tuning with the mask fixed;
2. IMP with weight rewinding vs SWAMP (4 particles, SWA) down to 90% sparsity;
3. COLT on digits 0-4 and 5-9 (density per round vs IMP's (1 - rate)^k);
4. sparse transfer from digits 0-4 to 5-9: linear probe vs full fine-tuning, mask fixed.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import numpy as np
import torch
from torch import nn

from marl_prune.experiments.report import Report
from marl_prune.experiments.stats import mean_std
from marl_prune.methods.lottery import colt, imp, swamp
from marl_prune.methods.training import accuracy, classification_loss, minibatches, train_masked
from marl_prune.methods.transfer import full_finetune, linear_probe
from marl_prune.pruning import prunable_weights
from marl_prune.pruning.layer_amounts import masks_from_amounts
from marl_prune.testbeds.digits_cnn import SmallCNN, digits_split


def trainer(x, y, epochs, lr=3e-3, swa_from=None):
    """Masked Adam training; with ``swa_from`` the weights are averaged over the epochs from
    there on (SWA, as SWAMP's particles do)."""
    steps_per_epoch = -(-len(y) // 64)

    def train(model, masks, seed):
        average, count = None, 0

        def after_step(m, step):
            nonlocal average, count
            if swa_from is not None and (step + 1) % steps_per_epoch == 0 and (step + 1) // steps_per_epoch > swa_from:
                state = {k: v.detach().clone() for k, v in m.state_dict().items()}
                count += 1
                average = state if average is None else {
                    k: (average[k] * (count - 1) + v) / count if v.is_floating_point() else v for k, v in state.items()}

        train_masked(model, classification_loss, minibatches((x, y), 64, epochs, seed), masks, lr=lr,
                     after_step=after_step)
        if average is not None:
            model.load_state_dict(average)
    return train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3], help="seeds (default: 1 2 3)")
    parser.add_argument("--sparsity", type=float, default=0.9, help="target sparsity of every method (default: 0.9)")
    parser.add_argument("--epochs", type=int, default=8, help="training epochs per run (default: 8)")
    parser.add_argument("--quick", action="store_true", help="1 seed, 1 epoch (a smoke run)")
    parser.add_argument("--out", type=Path, help="also write the tables, with this command, here")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.epochs = args.seeds[:1], 1
    torch.set_num_threads(1)
    x, y, xt, yt = digits_split(seed=0)
    report = Report()
    emit, fmt = report.emit, mean_std

    # 1. layer allocations, one-shot then fine-tuned
    allocators = ["global", "uniform", "uniform+", "erk", "lamp"]
    rows = {a: {"one-shot": [], "fine-tuned": []} for a in allocators}
    dense = []
    for seed in args.seeds:
        torch.manual_seed(seed)
        model = SmallCNN()
        trainer(x, y, args.epochs)(model, None, seed)
        dense.append(accuracy(model, xt, yt))
        for allocator in allocators:
            pruned = copy.deepcopy(model)
            masks = masks_from_amounts(pruned, prunable_weights(pruned), allocator, args.sparsity)
            masks.apply(pruned)
            rows[allocator]["one-shot"].append(accuracy(pruned, xt, yt))
            trainer(x, y, max(1, args.epochs // 2), lr=1e-3)(pruned, masks, seed + 100)
            rows[allocator]["fine-tuned"].append(accuracy(pruned, xt, yt))
    emit(f"## 1. Layer allocation at {args.sparsity:.0%} sparsity (dense {fmt(dense)})\n")
    emit("| allocation | one-shot | fine-tuned, mask fixed |\n|---|---|---|")
    for a in allocators:
        emit(f"| {a} | {fmt(rows[a]['one-shot'])} | {fmt(rows[a]['fine-tuned'])} |")

    # 2. IMP vs SWAMP to the same sparsity in 3 cycles
    cycles = 3
    rate = 1 - (1 - args.sparsity) ** (1 / cycles)
    imp_acc, swamp_acc, particle_acc = [], [], []
    for seed in args.seeds:
        torch.manual_seed(seed)
        model = SmallCNN()
        names = prunable_weights(model)
        result = imp(copy.deepcopy(model), names, trainer(x, y, args.epochs), cycles, rate,
                     evaluate=lambda m: accuracy(m, xt, yt))
        imp_acc.append(result.history[-1]["metric"])
        result = swamp(copy.deepcopy(model), names, trainer(x, y, args.epochs, swa_from=args.epochs // 2),
                       cycles, particles=4, rate=rate, bn_data=[x], evaluate=lambda m: accuracy(m, xt, yt))
        swamp_acc.append(result.history[-1]["metric"])
        particle_acc.append(np.mean(result.history[-1]["particle_metrics"]))
    emit(f"\n## 2. IMP vs SWAMP, {cycles} cycles of {rate:.3f} to {args.sparsity:.0%} sparsity\n")
    emit("| method | accuracy |\n|---|---|")
    emit(f"| IMP (weight rewinding to init) | {fmt(imp_acc)} |")
    emit(f"| SWAMP, one particle (mean of 4) | {fmt(particle_acc)} |")
    emit(f"| SWAMP, average of 4 particles | {fmt(swamp_acc)} |")

    # 3. COLT on two class splits
    low, high = digits_split(classes=range(5)), digits_split(classes=range(5, 10))
    rounds, colt_rate = 3, 0.3
    emit(f"\n## 3. COLT on digits 0-4 and 5-9 ({colt_rate:.0%} of survivors per round)\n")
    emit("| round | COLT density | IMP density (1 - rate)^k | accuracy 0-4 | accuracy 5-9 |\n|---|---|---|---|---|")
    histories = []
    for seed in args.seeds:
        torch.manual_seed(seed)
        models = [SmallCNN(5), SmallCNN(5)]
        train_split = [trainer(low[0], low[1], args.epochs), trainer(high[0], high[1], args.epochs)]
        tests = [(low[2], low[3]), (high[2], high[3])]
        _, _, history = colt(models, prunable_weights(models[0], exclude=("head",)),
                             lambda i, m, k, s: train_split[i](m, k, s), rounds, colt_rate,
                             evaluate=lambda i, m: accuracy(m, *tests[i]))
        histories.append(history)
    for k in range(rounds + 1):
        density = [h[k]["density"] for h in histories]
        emit(f"| {k} | {np.mean(density):.3f} | {(1 - colt_rate) ** k:.3f} | "
             f"{fmt([h[k]['metrics'][0] for h in histories])} | {fmt([h[k]['metrics'][1] for h in histories])} |")

    # 4. sparse transfer 0-4 -> 5-9
    emit("\n## 4. Sparse transfer from digits 0-4 to 5-9 (accuracy on 5-9)\n")
    emit("| source sparsity | linear probe | full fine-tuning, mask fixed |\n|---|---|---|")
    for sparsity in (0.0, 0.5, 0.8, 0.9):
        probe, full = [], []
        for seed in args.seeds:
            torch.manual_seed(seed)
            source = SmallCNN(5)
            names = prunable_weights(source, exclude=("head",))
            trainer(low[0], low[1], args.epochs)(source, None, seed)
            masks = masks_from_amounts(source, names, "global", sparsity)
            trainer(low[0], low[1], max(1, args.epochs // 2), lr=1e-3)(source, masks, seed + 1)
            head = nn.Linear(64, 5)
            linear_probe(source, head, minibatches((high[0], high[1]), 64, args.epochs, seed), features=source.embed)
            probed = copy.deepcopy(source)
            probed.head = head
            probe.append(accuracy(probed, high[2], high[3]))
            tuned = copy.deepcopy(source)
            tuned.head = nn.Linear(64, 5)
            full_finetune(tuned, masks, classification_loss, minibatches((high[0], high[1]), 64, args.epochs, seed))
            full.append(accuracy(tuned, high[2], high[3]))
        emit(f"| {sparsity:.0%} | {fmt(probe)} | {fmt(full)} |")

    report.save(args.out, "Pruning methods on digits")


if __name__ == "__main__":
    main()
