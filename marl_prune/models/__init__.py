"""Networks of the DSA learner: the batched recurrent actors (``recurrent``), the critics
(``critics``), and the actor's layout and reference step shared with export and the runtime
(``layout``, free of torch).

Import from the submodules; this package imports nothing, so that the torch-free runtime can
use ``layout`` without loading torch.
"""
