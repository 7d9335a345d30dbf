"""Dynamic spectrum access: configuration, vectorised core, PettingZoo env, baselines."""

from envs.dsa.baselines import (
    DSAPolicy,
    GenieOracle,
    SlottedAloha,
    aloha_success_probability,
    oracle_actions,
)
from envs.dsa.config import PRESETS, DSAConfig, make_config
from envs.dsa.config_v1 import PRESETS_V1, DSAConfigV1, make_config_v1
from envs.dsa.core import DSACore
from envs.dsa.core_v1 import METRICS_V1, DSACoreV1
from envs.dsa.evaluation import EvalResult, baseline_policies, evaluate, tune_aloha
from envs.dsa.parallel_env import DSAParallelEnv, DSAParallelEnvV1
from envs.dsa.slot import METRICS, jain_fairness
from envs.dsa.versions import VERSIONS, make_core, make_env_config, presets, version_of

__all__ = [
    "METRICS",
    "METRICS_V1",
    "PRESETS",
    "PRESETS_V1",
    "VERSIONS",
    "DSAConfig",
    "DSAConfigV1",
    "DSACore",
    "DSACoreV1",
    "DSAParallelEnv",
    "DSAParallelEnvV1",
    "DSAPolicy",
    "EvalResult",
    "GenieOracle",
    "SlottedAloha",
    "aloha_success_probability",
    "baseline_policies",
    "evaluate",
    "jain_fairness",
    "make_config",
    "make_config_v1",
    "make_core",
    "make_env_config",
    "presets",
    "version_of",
    "oracle_actions",
    "tune_aloha",
]
