"""Waterfall pictures: the right colour in the right cell, PNG encoding, the ParallelEnv's
``rgb_array`` mode, the trainer's TensorBoard image and ``evaluate_dsa.py --waterfall``."""

import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from envs import dsa_v0, dsa_v1
from envs.dsa.waterfall import (
    BLANK,
    COLLISION,
    PALE,
    PU_BACKGROUND,
    PU_HATCH,
    Trace,
    png_bytes,
    user_colour,
    waterfall_image,
)

ROOT = Path(__file__).resolve().parents[1]
H, W = 10, 4  # cell size of the pictures below


def _cell(image, channel, slot):
    """The pixels of a (channel, slot) cell, without the white separator row below it."""
    return image[channel * H:(channel + 1) * H - 1, slot * W:(slot + 1) * W]


def test_each_outcome_has_its_colour_in_its_cell():
    trace = Trace(n_users=2, n_channels=2)
    trace.record([0, -1], [True, False], [False, False])  # slot 0: user 0 alone on ch0, through
    trace.record([1, 1], [False, False], [False, False])  # slot 1: both on ch1: collision
    trace.record([-1, 0], [False, False], [False, True])  # slot 2: user 1 fails on ch0; PU on ch1
    trace.record([-1, -1], [False, False], [False, False])  # slot 3: nobody
    image = waterfall_image(trace, cell=(H, W))
    assert image.shape == (2 * H, 4 * W, 3) and image.dtype == np.uint8
    assert (_cell(image, 0, 0) == user_colour(0)).all()
    assert (_cell(image, 1, 0) == BLANK).all()
    assert (_cell(image, 1, 1) == COLLISION).all()
    pale = np.round(PALE * user_colour(1) + (1 - PALE) * 255).astype(np.uint8)
    assert (_cell(image, 0, 2) == pale).all()
    hatch = _cell(image, 1, 2)
    on_stripe = (np.add.outer(np.arange(H - 1), np.arange(W)) % 4 == 0)
    assert (hatch[on_stripe] == PU_HATCH).all() and (hatch[~on_stripe] == PU_BACKGROUND).all()
    assert (_cell(image, 0, 3) == BLANK).all() and (_cell(image, 1, 3) == BLANK).all()
    assert (image[H - 1] == BLANK).all()  # the separator between channels
    # only the last slots
    np.testing.assert_array_equal(waterfall_image(trace, cell=(H, W), last=2), image[:, 2 * W:])


def test_png_bytes_decode_to_the_same_pixels():
    image = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    data = png_bytes(image)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = {}, 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        assert struct.unpack(">I", data[at + 8 + length:at + 12 + length])[0] == zlib.crc32(kind + body)
        chunks[kind] = body
        at += 12 + length
    assert struct.unpack(">II", chunks[b"IHDR"][:8]) == (7, 5)
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), dtype=np.uint8).reshape(5, 1 + 7 * 3)
    assert (rows[:, 0] == 0).all()  # filter type None
    np.testing.assert_array_equal(rows[:, 1:].reshape(5, 7, 3), image)
    with pytest.raises(ValueError, match="uint8 image"):
        png_bytes(np.zeros((4, 4)))


@pytest.mark.parametrize("module", [dsa_v0, dsa_v1])
def test_parallel_env_rgb_array_draws_the_episode_so_far(module):
    env = module.parallel_env(render_mode="rgb_array", scenario="basic" if module is dsa_v0 else "gilbert")
    assert "rgb_array" in env.metadata["render_modes"]
    env.reset(seed=0)
    K, L = env.config.n_channels, env.config.n_levels
    assert env.render().shape == (K * H, W, 3)  # nothing played yet: one blank column
    on = {ch: 1 + ch * L for ch in range(K)}  # transmit on channel ch at level 0
    joint = [{a: 0 for a in env.agents} for _ in range(3)]
    joint[0].update(user_0=on[0], user_1=on[1])
    joint[1].update(user_0=on[1], user_1=on[1])
    infos = [env.step(actions)[4] for actions in joint]
    image = env.render()
    assert image.shape == (K * H, 3 * W, 3)
    for user, channel in ((0, 0), (1, 1)):
        colour = user_colour(user) if infos[0][f"user_{user}"]["success"] else np.round(
            PALE * user_colour(user) + (1 - PALE) * 255)
        assert (_cell(image, channel, 0) == colour).all()
    assert (_cell(image, 1, 1) == COLLISION).all()
    assert all((_cell(image, k, 2) == BLANK).all() for k in range(K))
    env.reset(seed=1)
    assert env.render().shape == (K * H, W, 3)  # a new episode starts a new picture


def test_evaluate_dsa_draws_a_runs_waterfall_and_tabulates_its_channels(tmp_path):
    pytest.importorskip("matplotlib")
    from marl_prune.learner.config import TrainConfig
    from marl_prune.learner.train import train

    run = train(TrainConfig(scenario="pu_traffic", env_version="v1", iterations=1, num_envs=2, num_steps=20,
                            bptt_chunk=10, hidden_size=8, critic_hidden=8, eval_episodes=2, eval_every=0,
                            progress=False, runs_dir=str(tmp_path), run_name="tiny")).run_dir
    out = tmp_path / "waterfall.png"
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "evaluate_dsa.py"), str(run), "--episodes", "2",
                             "--waterfall", str(out), "--shares"],
                            capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"waterfall: {out}" in result.stdout
    # --shares: pu_traffic has 6 users and a 2-slot clock; each line sums to 1
    shares, episodes = result.stdout.split("Where each user transmits, learned")[1].split("Episodes (2) in which")

    def rows(table: str) -> list[list[str]]:
        return [line.split() for line in table.splitlines() if line.strip() and line.split()[0].isdigit()]

    assert [(int(r[0]), int(r[1])) for r in rows(shares)] == [(u, p) for u in range(6) for p in range(2)]
    assert all(abs(sum(map(float, r[2:])) - 1) < 0.02 and len(r) == 2 + 1 + 4 for r in rows(shares))
    # per episode: the share of the 2 episodes in which each user holds a channel / stays out, and its mean
    held = [[float(x) for x in r[1:]] for r in rows(episodes)]
    assert len(held) == 6 and all(h + out <= 1 and h in (0, 0.5, 1) and 0 <= m <= 1 for h, out, m in held)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    no_run = subprocess.run([sys.executable, str(ROOT / "scripts" / "evaluate_dsa.py"), "--waterfall", str(out)],
                            capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert no_run.returncode == 2 and "--waterfall draws a trained run" in no_run.stderr
