"""cropglobe: invariant spectral-temporal features for crop-type mapping without local labels.

Implements and extends Tong & Wang, "Invariant Features for Global Crop Type Classification"
(arXiv:2509.03497): Sentinel-2 pixel time series from countries with crop maps are turned into
features that stay stable across regions, small models are trained with phenology augmentation on
one region, and their transfer to other countries, continents and the other hemisphere is measured.

The pipeline is the package layout: ``sources`` (acquire, readers, emit, simulator) -> ``temporal``
(composites) -> ``features`` -> ``augment`` -> ``models`` -> ``training`` -> ``experiment`` (transfer
runs, reports); ``mapping`` applies a trained cell to raster cubes. The in-memory and on-disk data
model is the :mod:`cropglobe.samples` SampleSet; :mod:`cropglobe.recipe` is the training -> mapping
contract.
"""

from cropglobe.errors import CropGlobeError

__version__ = "0.1.0"

__all__ = ["CropGlobeError", "__version__"]
