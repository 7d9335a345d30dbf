"""Environments of marl_prune. ``from envs import dsa_v0, dsa_v1`` gives the versioned DSA environments."""

from envs import dsa_v0, dsa_v1

try:  # PettingZoo >= 1.27 has a registry; older versions simply lack it.
    from pettingzoo import register as _register
except ImportError:  # pragma: no cover - depends on the installed PettingZoo
    _register = None

if _register is not None:
    _register("aec", "marl_prune/dsa-v0", entry_point="envs.dsa_v0:env")
    _register("parallel", "marl_prune/dsa-v0", entry_point="envs.dsa_v0:parallel_env")
    _register("aec", "marl_prune/dsa-v1", entry_point="envs.dsa_v1:env")
    _register("parallel", "marl_prune/dsa-v1", entry_point="envs.dsa_v1:parallel_env")

__all__ = ["dsa_v0", "dsa_v1"]
