"""NASA EMIT imaging-spectrometer surface reflectance (L2A): read, orthorectify, sample, search.

Modules: :mod:`~cropglobe.sources.emit.granule` (granule layout, GLT orthorectification, point sampling),
:mod:`~cropglobe.sources.emit.points` (labelled points -> SampleSet), :mod:`~cropglobe.sources.emit.search`
(earthaccess search and download) and :mod:`~cropglobe.features.emit` (the ``emit`` feature family).
"""

from cropglobe.sources.emit.granule import EmitGranule, open_granule, orthorectify, sample_granule
from cropglobe.sources.emit.points import read_points, sample_points

__all__ = ["EmitGranule", "open_granule", "orthorectify", "read_points", "sample_granule", "sample_points"]
