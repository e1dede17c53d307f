"""Observations -> composites on the aligned season calendar: :mod:`.composite` (the call training
and mapping share), :mod:`.season` (windows, hemisphere alignment, offsets), :mod:`.gapfill`
(the numpy kernels) and :mod:`.kernels` (their compiled twin for raw map cubes).
"""
