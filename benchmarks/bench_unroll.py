"""The actors' sequence unroll in the PPO update, forward and backward: the step-by-step
reference, the sequence-batched fast path the trainer uses, and the fast path under
``torch.compile``, side by side on one minibatch of the default config.

    python benchmarks/bench_unroll.py [--scenarios basic large] [--repeats 30]

Prints the median milliseconds of one forward + backward per variant, the ratios to the
reference, how long compiling took (the first call; inductor's cache makes a repeat in the
same machine faster), and how far the compiled outputs and gradients are from the fast
path's. Torch runs on one thread, as the trainer does by default.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch

from envs.dsa import make_core
from marl_prune.learner.config import TrainConfig
from marl_prune.learner.runs import build_actors


def median_ms(step: Callable[[], None], repeats: int) -> float:
    for _ in range(3):  # warm-up
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2] * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", nargs="+", default=["basic", "large"], help="v0 presets (default: basic large)")
    parser.add_argument("--repeats", type=int, default=30, help="timed calls per variant (default: 30)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for scenario in args.scenarios:
        config = TrainConfig(scenario=scenario)
        core = make_core(config.env_config(), num_envs=1)
        actors = build_actors(config, core)
        # one minibatch as the update sees it: bptt_chunk slots x the chunks of one minibatch
        T = config.bptt_chunk
        B = config.num_envs * (config.num_steps // config.bptt_chunk) // config.num_minibatches
        N = core.n_users
        g = torch.Generator().manual_seed(0)
        obs = torch.rand(T, B, N, core.obs_dim, generator=g)
        h0 = torch.rand(B, N, actors.hidden_size, generator=g)
        episode_start = torch.rand(T, B, generator=g) < 0.05

        def forward_backward(unroll: Callable) -> tuple[torch.Tensor, list[torch.Tensor]]:
            actors.zero_grad()
            out = unroll(obs, h0, episode_start)
            out.square().mean().backward()
            return out.detach(), [p.grad.clone() for p in actors.parameters()]

        started = time.perf_counter()
        compiled = torch.compile(actors.unroll, dynamic=False)
        forward_backward(compiled)
        compile_s = time.perf_counter() - started
        ms = {name: median_ms(lambda f=f: forward_backward(f), args.repeats)  # type: ignore[misc]
              for name, f in (("reference", actors.unroll_reference), ("fast", actors.unroll), ("compiled", compiled))}
        out_fast, grads_fast = forward_backward(actors.unroll)
        out_comp, grads_comp = forward_backward(compiled)
        out_gap = (out_fast - out_comp).abs().max().item()
        grad_gap = max((a - b).abs().max().item() for a, b in zip(grads_fast, grads_comp))
        print(f"{scenario}: one minibatch of {T} slots x {B} chunks x {N} users, hidden {actors.hidden_size}")
        for name, value in ms.items():
            print(f"  {name:>9}: {value:8.2f} ms  ({ms['reference'] / value:.2f}x the reference)")
        print(f"  compiling took {compile_s:.1f} s; compiled vs fast: outputs within {out_gap:.1e}, "
              f"gradients within {grad_gap:.1e}")


if __name__ == "__main__":
    main()
