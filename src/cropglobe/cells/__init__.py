"""Trained cells and their run folders: the floor below :mod:`cropglobe.experiment` and :mod:`cropglobe.mapping`.

:mod:`.run_folder` (:class:`~cropglobe.cells.run_folder.RunFolder`: the run layout, cell keys, split
manifests, finding a cell's run), :mod:`.cell` (a cell's checked recipe and model:
:func:`~cropglobe.cells.cell.load_recipe`) and :mod:`.inputs` (a SampleSet turned into a cell's model
inputs exactly as training did). Both top floors use these; this package imports neither.
"""
