"""The transfer study's spec: what a run folder's ``config.yaml`` holds, below both top floors.

:mod:`.spec` (the validated YAML spec: :class:`~cropglobe.study.spec.ExperimentSpec`,
:class:`~cropglobe.study.spec.CellSpec`, :func:`~cropglobe.study.spec.load_spec`), :mod:`.regions`
(transfer units) and :mod:`.adaptation` (the ``adaptation:`` block). Pure data: no training, no
mapping; :mod:`cropglobe.experiment` runs a spec and :mod:`cropglobe.mapping` reads one.
"""
