"""The environment versions side by side: ``v0`` (full buffers, static channels, sum rate) and
``v1`` (traffic, correlated channels, fairness-aware objectives). Each has its config class,
presets and core; code that serves both asks here."""

from __future__ import annotations

from typing import Any

from envs.dsa.config import PRESETS, DSAConfig, make_config
from envs.dsa.config_v1 import PRESETS_V1, DSAConfigV1, make_config_v1
from envs.dsa.core import DSACore
from envs.dsa.core_v1 import DSACoreV1

VERSIONS = ("v0", "v1")


def presets(version: str) -> dict[str, DSAConfig]:
    """The named scenarios of ``version``."""
    if version not in VERSIONS:
        raise ValueError(f"environment version must be one of {list(VERSIONS)}, got {version!r}")
    return dict(PRESETS) if version == "v0" else dict(PRESETS_V1)


def make_env_config(version: str, scenario: str, **overrides: Any) -> DSAConfig:
    """The preset ``scenario`` of ``version`` with ``overrides`` applied."""
    presets(version)  # checks the version
    return make_config(scenario, **overrides) if version == "v0" else make_config_v1(scenario, **overrides)


def version_of(config: DSAConfig) -> str:
    return "v1" if isinstance(config, DSAConfigV1) else "v0"


def make_core(config: DSAConfig, num_envs: int = 1) -> DSACore:
    """The vectorised core of ``config``'s version."""
    return DSACoreV1(config, num_envs) if isinstance(config, DSAConfigV1) else DSACore(config, num_envs)
