"""Export a run's trained (pruned) actors for deployment, with a size and latency report.

    python scripts/export_policy.py RUN_DIR --out export/ [--format safetensors,onnx] [--per-agent]

Use it when a trained team leaves the training stack for a radio; scripts/run_exported.py
then checks the exported file on the environment without torch. Writes team.safetensors (CSR
weights + JSON header, read by marl_prune.deploy.runtime with numpy only), optionally one file
per agent and ONNX of one recurrent step per agent, and report.json / report.md (parameters,
non-zeros, bytes, per-step latency).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from marl_prune.deploy.export import export_run, report_markdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a finished training run folder")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--format", default="safetensors",
                        help="comma-separated: safetensors,onnx (default: safetensors; onnx needs the [onnx] extra)")
    parser.add_argument("--per-agent", action="store_true", help="also write one file per agent")
    args = parser.parse_args(argv)
    formats = tuple(f.strip() for f in args.format.split(",") if f.strip())
    try:
        report = export_run(args.run_dir, args.out, formats, per_agent=args.per_agent)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ImportError as e:
        print(f"error: {e} (ONNX export needs: pip install -e '.[onnx]')", file=sys.stderr)
        return 2
    print(report_markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
