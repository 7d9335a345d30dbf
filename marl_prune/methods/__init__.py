"""The pruning methods of the CNN/LLM literature, for any ``nn.Module``: IMP with rewinding,
SWAMP and COLT (``lottery``), SquareHead distillation (``distill``), sparse transfer
(``transfer``), component-wise sparsity (``components``), and the masked training loop they
share (``training``); with their adapters to the DSA learner (``lottery_dsa``,
``distill_dsa``). LAMP and the other layer allocators are in :mod:`marl_prune.pruning`.
"""
