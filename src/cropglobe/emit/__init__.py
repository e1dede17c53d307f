"""NASA EMIT imaging-spectrometer surface reflectance (L2A): read, orthorectify, sample, search.

Modules: :mod:`~cropglobe.emit.reader` (granule layout, GLT orthorectification, point sampling),
:mod:`~cropglobe.emit.points` (labelled points -> SampleSet), :mod:`~cropglobe.emit.search`
(earthaccess search and download) and :mod:`~cropglobe.emit.features` (the ``emit`` feature family).
"""

from cropglobe.emit.points import read_points, sample_points
from cropglobe.emit.reader import EmitGranule, open_granule, orthorectify, sample_granule

__all__ = ["EmitGranule", "open_granule", "orthorectify", "read_points", "sample_granule", "sample_points"]
