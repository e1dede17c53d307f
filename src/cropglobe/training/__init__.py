"""Training: the Lightning fit of torch models (:mod:`.lightning`), disjoint splits (:mod:`.splits`)
and the evaluation metrics (:mod:`.metrics`).
"""
