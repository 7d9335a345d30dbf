"""The DSA learner: the config (``config``, ``cli``), what a run is built from and leaves
behind (``runs``, ``checkpoint``), the training state (``state``), rollouts (``rollout``), the
PPO / A2C update (``ppo``), the training loop (``train``) and evaluation (``evaluation``).

Import from the submodules, e.g. ``from marl_prune.learner.train import train``.
"""
