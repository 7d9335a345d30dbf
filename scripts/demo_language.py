"""SquareHead sparse fine-tuning and component-wise sparsity on a small transformer LM
trained on generated text (no download).

    python scripts/demo_language.py [--seeds 1 2 3] [--out docs/results/language.md] [--quick]

Use it to see SquareHead and component-wise sparsity on a transformer, where they were
proposed; SquareHead on the DSA actors is scripts/distill_dsa.py. Prints two tables:
1. one-shot magnitude pruning of the transformer blocks at 50/75/90%, then one epoch of
   sparse fine-tuning with the task loss alone vs task loss + SquareHead from the dense
   teacher: next-token accuracy and perplexity, and the share of the dense quality recovered;
2. a component sweep (attention, feed-forward, head, each pruned alone) with the sparsity
   where accuracy collapses below 90% of the dense model's.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import numpy as np
import torch

from marl_prune.experiments.report import Report
from marl_prune.experiments.stats import mean_std
from marl_prune.methods.components import component_sweep, component_weights
from marl_prune.methods.distill import sparse_finetune
from marl_prune.methods.training import minibatches, train_masked
from marl_prune.pruning.layer_amounts import masks_from_amounts
from marl_prune.testbeds.tiny_lm import TinyLM, lm_loss, lm_quality, markov_text

COMPONENTS = {"attention": "layers.*.self_attn.*", "feed-forward": "layers.*.linear*", "head": "head"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3], help="seeds (default: 1 2 3)")
    parser.add_argument("--epochs", type=int, default=6, help="dense training epochs (default: 6)")
    parser.add_argument("--quick", action="store_true", help="1 seed, 1 epoch (a smoke run)")
    parser.add_argument("--out", type=Path, help="also write the tables, with this command, here")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.epochs = args.seeds[:1], 1
    torch.set_num_threads(1)
    tokens, valid = markov_text(3000, seed=0)
    test_tokens, test_valid = markov_text(500, seed=1)
    report = Report()
    emit, fmt = report.emit, mean_std

    sparsities = (0.5, 0.75, 0.9)
    results: dict = {s: {k: [] for k in ("one-shot", "task", "squarehead")} for s in sparsities}
    dense_q, sweeps = [], []
    for seed in args.seeds:
        torch.manual_seed(seed)
        teacher = TinyLM()
        train_masked(teacher, lambda m, b: lm_loss(m(b[0]), b[0], b[1]),
                     minibatches((tokens, valid), 64, args.epochs, seed), lr=3e-3)
        dense = lm_quality(teacher, test_tokens, test_valid)
        dense_q.append(dense)
        names = [n for n in component_weights(teacher, "layers")]
        for s in sparsities:
            student = copy.deepcopy(teacher)
            masks = masks_from_amounts(student, names, "uniform", s)
            masks.apply(student)
            results[s]["one-shot"].append(lm_quality(student, test_tokens, test_valid))
            for key, weight in (("task", 0.0), ("squarehead", 1.0)):
                tuned = copy.deepcopy(student)
                sparse_finetune(tuned, teacher, teacher.block_names(), masks,
                                minibatches((tokens, valid), 64, 1, seed + 7),
                                task_loss=lambda o, b: lm_loss(o, b[0], b[1]), forward=lambda m, b: m(b[0]),
                                square_head_weight=weight, valid=lambda b: b[1])
                results[s][key].append(lm_quality(tuned, test_tokens, test_valid))
        sweeps.append(component_sweep(
            teacher, list(COMPONENTS.values()), [0.25, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95],
            lambda m: lm_quality(m, test_tokens, test_valid)["accuracy"], collapse_fraction=0.9))

    acc = lambda qs: [q["accuracy"] for q in qs]  # noqa: E731
    ppl = lambda qs: [q["perplexity"] for q in qs]  # noqa: E731
    emit(f"## 1. SquareHead vs task loss alone (dense: accuracy {fmt(acc(dense_q))}, perplexity {fmt(ppl(dense_q))})\n")
    emit("Recovered = share of the perplexity lost by one-shot pruning that fine-tuning wins back, "
         "(one-shot - fine-tuned) / (one-shot - dense), mean over seeds; n/a where one-shot pruning "
         "lost less than 1% of the dense perplexity.\n")
    emit("| sparsity | one-shot accuracy | one-shot perplexity | task loss: accuracy | perplexity | recovered | "
         "task + SquareHead: accuracy | perplexity | recovered |\n|---|---|---|---|---|---|---|---|---|")
    for s in sparsities:
        r = results[s]
        lost = np.array(ppl(r["one-shot"])) - np.array(ppl(dense_q))
        rec = {}
        for k in ("task", "squarehead"):
            share = (np.array(ppl(r["one-shot"])) - np.array(ppl(r[k]))) / np.maximum(lost, 1e-9)
            rec[k] = "n/a" if np.any(lost < 0.01 * np.array(ppl(dense_q))) else f"{share.mean():.0%}"
        emit(f"| {s:.0%} | {fmt(acc(r['one-shot']))} | {fmt(ppl(r['one-shot']))} | {fmt(acc(r['task']))} | "
             f"{fmt(ppl(r['task']))} | {rec['task']} | {fmt(acc(r['squarehead']))} | {fmt(ppl(r['squarehead']))} | "
             f"{rec['squarehead']} |")

    emit("\n## 2. Component sweep: accuracy relative to dense, one component pruned at a time\n")
    levels = sorted({row["sparsity"] for row in sweeps[0]["rows"]})
    emit("| component | " + " | ".join(f"{s:.0%}" for s in levels) + " | collapse (< 90% of dense) |")
    emit("|---|" + "---|" * (len(levels) + 1))
    for name, pattern in COMPONENTS.items():
        cells = [np.mean([row["relative"] for sw in sweeps for row in sw["rows"]
                          if row["component"] == pattern and row["sparsity"] == s]) for s in levels]
        collapses = [sw["collapse"][pattern] for sw in sweeps]
        collapse = "none" if all(c is None for c in collapses) else ", ".join(
            "none" if c is None else f"{c:.0%}" for c in collapses)
        emit(f"| {name} (`{pattern}`) | " + " | ".join(f"{c:.0%}" for c in cells) + f" | {collapse} |")

    report.save(args.out, "SquareHead and component-wise sparsity on a small LM")


if __name__ == "__main__":
    main()
