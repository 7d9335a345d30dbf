"""The example scripts run end to end and write their tables (short budgets)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("sklearn")


def _run(script, *args):
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / script), *map(str, args)],
                            capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.parametrize("script, args, expected", [
    ("demo_vision.py", ["--quick"], ["## 1. Layer allocation", "| lamp |", "SWAMP, average", "## 3. COLT",
                                     "## 4. Sparse transfer"]),
    ("demo_language.py", ["--quick"], ["SquareHead vs task loss", "| 75% |", "collapse"]),
    ("demo_metricgrids.py", ["--seeds", "0", "--steps", "5"], ["PSNR", "Torus SDF", "| 90% |"]),
])
def test_demo_writes_its_tables(tmp_path, script, args, expected):
    out = tmp_path / "result.md"
    stdout = _run(script, *args, "--out", out)
    text = out.read_text()
    assert text.startswith("# ") and f"python scripts/{script}" in text  # the command that made it
    for fragment in expected:
        assert fragment in stdout and fragment in text


def test_plot_schedules_writes_a_png(tmp_path):
    _run("plot_schedules.py", "--out", tmp_path / "s.png", "--iterations", "100", "--warmup", "10", "--end-lock", "10")
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "s.png").stat().st_size > 10_000
