"""Stratified area and accuracy estimates against the worked example of Olofsson et al. (2014).

Olofsson, P., Foody, G. M., Herold, M., Stehman, S. V., Woodcock, C. E., Wulder, M. A. (2014).
Good practices for estimating area and assessing accuracy of land change. Remote Sensing of
Environment 148:42-57, doi:10.1016/j.rse.2014.02.015. Its example (Table 8, p. 54): a change map
of 4 classes (deforestation, forest gain, stable forest, stable non-forest) with mapped areas of
200,000, 150,000, 3,200,000 and 6,450,000 Landsat pixels (30 m, 0.09 ha) and a stratified sample
of 75, 75, 165 and 325 units; the error matrix below (rows: map, columns: reference) is the
paper's (as also encoded in the example of the R package mapaccuracy, `olofsson()`).
The paper reports (p. 54): areas 21,158 ± 6,158 ha (deforestation), 11,686 ± 3,756 ha (gain),
285,770 ± 15,510 ha (stable forest), 581,386 ± 16,282 ha (stable non-forest); user's accuracy
0.88 ± 0.07, 0.73 ± 0.10, 0.93 ± 0.04, 0.96 ± 0.02; producer's accuracy of deforestation
0.75 ± 0.21; overall accuracy 0.95 ± 0.02.
"""

from __future__ import annotations

import numpy as np
import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.mapping import areaestimate

CLASSES = ["deforestation", "forest gain", "stable forest", "stable non-forest"]
COUNTS = np.array([[66, 0, 5, 4],
                   [0, 55, 8, 12],
                   [1, 0, 153, 11],
                   [2, 1, 9, 313]])
PIXELS = np.array([200_000, 150_000, 3_200_000, 6_450_000])
HECTARES = PIXELS * 0.09


def test_worked_example_of_olofsson_2014():
    est = areaestimate.estimate(COUNTS, HECTARES, CLASSES)
    np.testing.assert_array_equal(np.round(est.area), [21_158, 11_686, 285_770, 581_386])
    np.testing.assert_array_equal(np.round(est.area_ci), [6_158, 3_756, 15_510, 16_282])
    np.testing.assert_array_equal(np.round(est.users, 2), [0.88, 0.73, 0.93, 0.96])
    np.testing.assert_array_equal(np.round(est.users_ci, 2), [0.07, 0.10, 0.04, 0.02])
    assert round(est.producers[0], 2) == 0.75 and round(est.producers_ci[0], 2) == 0.21
    np.testing.assert_array_equal(np.round(est.producers, 2), [0.75, 0.85, 0.93, 0.96])
    assert round(est.overall, 2) == 0.95 and round(est.overall_ci, 2) == 0.02
    assert est.area.sum() == pytest.approx(HECTARES.sum())  # the estimated areas partition the map
    assert est.proportions.sum() == pytest.approx(1.0)


def test_areas_come_in_the_unit_of_the_map_areas():
    pixels = areaestimate.estimate(COUNTS, PIXELS, CLASSES)
    hectares = areaestimate.estimate(COUNTS, HECTARES, CLASSES)
    np.testing.assert_allclose(pixels.area * 0.09, hectares.area)
    np.testing.assert_allclose(pixels.users, hectares.users)


def test_a_perfect_map_has_its_own_areas_and_no_uncertainty():
    est = areaestimate.estimate(np.diag([10, 20, 30]), np.array([5.0, 3.0, 2.0]), ["a", "b", "c"])
    np.testing.assert_allclose(est.area, [5, 3, 2])
    np.testing.assert_allclose(est.area_ci, 0)
    assert est.overall == 1 and est.overall_ci == 0


def test_a_reference_class_absent_from_the_map_gets_an_area():
    counts = np.array([[8, 2], [0, 0]])  # class b is never mapped but found in the reference
    est = areaestimate.estimate(counts, np.array([100.0, 0.0]), ["a", "b"])
    np.testing.assert_allclose(est.area, [80, 20])
    assert np.isnan(est.users[1]) and est.producers[1] == 0


def test_a_mapped_class_without_a_sample_is_refused():
    with pytest.raises(CropGlobeError, match="map classes b cover mapped area but have no reference sample"):
        areaestimate.estimate(np.array([[5, 0], [0, 0]]), np.array([1.0, 1.0]), ["a", "b"])


def test_table_lists_each_class():
    table = areaestimate.estimate(COUNTS, HECTARES, CLASSES).table()
    assert list(table["class"]) == CLASSES and list(table["samples"]) == [75, 75, 165, 325]
    assert (table["area_low"] < table["area"]).all() and (table["area"] < table["area_high"]).all()
