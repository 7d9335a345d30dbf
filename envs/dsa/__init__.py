"""Dynamic spectrum access: configuration, vectorised core, PettingZoo env, baselines."""

from envs.dsa.baselines import (
    DSAPolicy,
    GenieOracle,
    SlottedAloha,
    aloha_success_probability,
    oracle_actions,
)
from envs.dsa.config import PRESETS, DSAConfig, make_config
from envs.dsa.core import METRICS, DSACore, jain_fairness
from envs.dsa.evaluation import EvalResult, baseline_policies, evaluate, tune_aloha
from envs.dsa.parallel_env import DSAParallelEnv

__all__ = [
    "METRICS",
    "PRESETS",
    "DSAConfig",
    "DSACore",
    "DSAParallelEnv",
    "DSAPolicy",
    "EvalResult",
    "GenieOracle",
    "SlottedAloha",
    "aloha_success_probability",
    "baseline_policies",
    "evaluate",
    "jain_fairness",
    "make_config",
    "oracle_actions",
    "tune_aloha",
]
