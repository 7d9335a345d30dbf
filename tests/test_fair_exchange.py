"""scripts/fair_exchange.py: the exchange rules reduce to the frame where they should, and a
user that always probes collides in every slot."""

import numpy as np
import pytest
from script_module import load_script

from envs.dsa import evaluate, make_core
from envs.dsa.config_v1 import make_config_v1
from envs.dsa.references import StaticSchedule

exchange = load_script("fair_exchange.py")
CONFIG = make_config_v1("fair", max_cycles=20)


def _same(a, b, **kw):
    config = make_config_v1("fair", max_cycles=20, **kw)
    ra, rb = (evaluate(p, config, episodes=8, seed=3) for p in (a, b))
    return all(np.array_equal(ra.episodes[m], rb.episodes[m]) for m in ra.episodes)


def test_frame_cells_give_each_user_one_cell_of_the_frame():
    core = make_core(CONFIG, num_envs=4)
    core.reset(seed=0)
    phase, action = exchange.frame_cells(core, know_gains=False)
    channel = (action - 1) // core.n_levels
    assert (phase >= 0).all() and (action > 0).all()
    # planned on the mean gain, users take the six (phase, channel) cells by their index
    assert (phase == [0, 0, 0, 1, 1, 1]).all() and (channel == [0, 1, 2, 0, 1, 2]).all()


def test_never_yielding_nor_probing_is_the_mean_gain_frame():
    assert _same(exchange.YieldAndProbe(0, 0.0), StaticSchedule("tdma", know_gains=False))


def test_the_genie_without_bad_links_is_the_frame_it_starts_from():
    for know_gains in (False, True):
        assert _same(exchange.ExchangeGenie(know_gains, exchange=True), StaticSchedule("tdma", know_gains), ge_p_gb=0.0)


def test_the_genie_skips_bad_links_and_never_collides():
    result = evaluate(exchange.ExchangeGenie(False, exchange=True), CONFIG, episodes=8, seed=3)
    frame = evaluate(StaticSchedule("tdma", know_gains=False), CONFIG, episodes=8, seed=3)
    assert result.mean("collision_rate") == 0.0
    assert result.mean("success_rate") > frame.mean("success_rate")  # the partner fills bad cells


def test_always_probing_collides_in_every_transmission():
    result = evaluate(exchange.YieldAndProbe(0, 1.0), CONFIG, episodes=8, seed=3)
    assert result.mean("success_rate") == 0.0 and result.mean("collision_rate") == 1.0


def test_own_gain_chairs_try_their_best_channel_when_cold_and_any_when_the_gains_are_equal():
    core = make_core(CONFIG, num_envs=64)
    core.reset(seed=0)
    value, _ = exchange.expected_link_values(core, know_gains=True)
    obs = np.zeros((64, core.n_users, core.obs_dim), dtype=np.float32)
    obs[..., 0] = 1.0  # nobody sent last slot: every user is without a cell and hops
    obs[..., core.clock_index] = 1.0
    policy = exchange.OwnGainChairs(1e-3)
    actions, _ = policy(obs, policy.initial_state(core, np.random.default_rng(0)))
    assert ((actions - 1) // core.n_levels == value.argmax(axis=-1)).all()
    flat = make_core(make_config_v1("fair", gain_std_db=0.0), num_envs=1)
    flat.reset(seed=0)  # equal gains: every channel equally likely, whatever the temperature
    cdf = exchange.OwnGainChairs(1e-3).initial_state(flat, np.random.default_rng(0))["cdf"]
    np.testing.assert_allclose(cdf, np.broadcast_to([1 / 3, 2 / 3, 1.0], cdf.shape))
    with pytest.raises(ValueError, match="temperature must be > 0"):
        exchange.OwnGainChairs(0.0)


@pytest.mark.parametrize("argv, message", [
    (["--env", "frame_clock=3"], "got frame_clock=3"),
    (["--env", "gain_std_db=-1"], "gain_std_db must be >= 0"),
    (["--env", "nope=1"], "unknown DSAConfig field(s): ['nope']"),
    (["--seed", "-1"], "expected an integer >= 0"),
])
def test_refuses_bad_input_in_one_line_naming_it(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        exchange.main(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_main_writes_the_tables_with_the_frame_as_the_grids_first_cell(tmp_path, capsys):
    out = tmp_path / "exchange.md"
    exchange.main(["--episodes", "2", "--env", "max_cycles=10", "--out", str(out)])
    text = out.read_text()
    assert text.startswith("# Exchanging") and "fair with max_cycles=10: 2 episodes" in text
    frame = next(line for line in text.splitlines() if line.startswith("| TDMA planned on the mean gain"))
    first_cell = next(line for line in text.splitlines() if line.startswith("| 0 | "))
    assert first_cell.split(" | ")[1].split(" ")[0] == frame.split(" | ")[1]  # yield 0, probe 0 is the frame
    assert "Best adapting setting" in capsys.readouterr().out
    assert text.count("\n| 100 | ") == 1 and "Seating by one's own gains" in text
