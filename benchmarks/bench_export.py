"""Exported sparse actors: file size and per-step latency against dense torch.

    python benchmarks/bench_export.py [RUN_DIR] [--sparsity 0.95]

With RUN_DIR it exports that run's actors; without, it prunes freshly initialised actors of
the `basic` scenario to --sparsity (per agent). Prints, measured in this run: dense fp32 vs
sparse bytes (target <= 15% at 95%), time to export the team (target < 1 s), and the
single-observation step latency of dense torch, torch CSR and the numpy runtime (target:
numpy no slower than dense torch).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from envs.dsa import DSACore
from marl_prune.deploy.export import export_safetensors, size_and_latency_report
from marl_prune.learner.config import TrainConfig
from marl_prune.learner.runs import actor_prunable_weights, load_trained_actors
from marl_prune.models.recurrent import RecurrentAgents
from marl_prune.pruning import compute_masks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?", type=Path)
    parser.add_argument("--sparsity", type=float, default=0.95)
    args = parser.parse_args()
    if args.run_dir:
        actors, config = load_trained_actors(args.run_dir)
    else:
        config = TrainConfig()
        core = DSACore(config.env_config())
        torch.manual_seed(0)
        actors = RecurrentAgents(core.n_users, core.obs_dim, core.n_actions, config.hidden_size)
        compute_masks(actors, actor_prunable_weights(actors), args.sparsity, per_stack=True).apply(actors)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        path = export_safetensors(actors, config, Path(tmp) / "team.safetensors")
        export_s = time.perf_counter() - start
        r = size_and_latency_report(actors, path)
    print(f"agents {r['agents']}, parameters {r['parameters']:,}, non-zeros {r['nonzeros']:,}, "
          f"weight sparsity {r['weight_sparsity']:.3f}")
    print(f"bytes: dense fp32 {r['dense_fp32_bytes']:,}  sparse {r['sparse_bytes']:,}  "
          f"ratio {r['sparse_over_dense']:.1%} (target <= 15% at 95% sparsity)")
    print(f"export of the team: {export_s * 1e3:.1f} ms (target < 1 s)")
    print(f"step latency, one observation, one core: dense torch {r['dense_torch_s'] * 1e6:.1f} us, "
          f"torch CSR {r['sparse_torch_csr_s'] * 1e6:.1f} us, numpy runtime {r['numpy_runtime_s'] * 1e6:.1f} us")
    print(f"numpy runtime / dense torch = {r['numpy_over_dense_torch']:.2f}x (target <= 1x)")


if __name__ == "__main__":
    main()
