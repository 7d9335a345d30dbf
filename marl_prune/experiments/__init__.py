"""Experiments over many runs: starting and resuming any run (``runs``), the grid of
scenarios x methods x sparsities x seeds (``grid``), where runs execute (``backends``: local
processes or Ray Tune), statistics over seeds (``stats``), the method paper's claims
(``claims``), plots (``plots``) and Markdown / CSV reports (``report``)."""
