"""Non-RL models and their data, on which the shared pruning methods are demonstrated and
tested: scikit-learn's digits with a small CNN (``digits_cnn``), generated text with a small
transformer language model (``tiny_lm``), and MetricGrids, a grid implicit neural
representation (``metricgrids``). Nothing is downloaded."""
