"""marl_prune: multi-agent RL with sparse, pruned recurrent policies for spectrum access."""

__version__ = "0.1.0"
