"""Area-adjusted accuracy and class areas with confidence intervals from a stratified reference sample.

The stratified estimators of Olofsson, P., Foody, G. M., Herold, M., Stehman, S. V., Woodcock,
C. E., Wulder, M. A. (2014), "Good practices for estimating area and assessing accuracy of land
change", Remote Sensing of Environment 148:42-57 (its analysis section and worked example; the
strata are the map classes, sampled by stratified random sampling). With ``n_ij`` the sample
count of map class ``i`` and reference class ``j``, ``n_i.`` the sample size of map class ``i``
and ``W_i`` its share of the mapped area:

- estimated area proportions ``p_ij = W_i n_ij / n_i.``; class area ``A p_.j`` with
  standard error ``A sqrt(sum_i W_i^2 (n_ij/n_i.)(1 - n_ij/n_i.) / (n_i. - 1))``;
- overall accuracy ``sum_j p_jj``, user's ``U_i = p_ii / p_i.`` and producer's
  ``P_j = p_jj / p_.j`` accuracy with their variances;
- 95 % confidence intervals ``± 1.96 SE``.

A map class with a sample of one has no variance estimate (NaN); a mapped class with no sample
at all cannot be estimated and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cropglobe.errors import CropGlobeError

#: The normal quantile of a two-sided 95 % interval, as in Olofsson et al. (2014).
Z95 = 1.96


@dataclass(frozen=True)
class AreaAccuracy:
    """Stratified estimates (Olofsson et al. 2014). Arrays are per class, in :attr:`classes` order.

    ``*_ci`` are half-widths of the confidence interval (``z`` standard errors); areas are in the
    unit of the map areas given (hectares for ``cropglobe assess accuracy``).
    """

    classes: list[str]
    counts: np.ndarray  # sample counts, rows = map class, columns = reference class
    map_area: np.ndarray
    proportions: np.ndarray  # estimated area proportions p_ij
    overall: float
    overall_ci: float
    users: np.ndarray
    users_ci: np.ndarray
    producers: np.ndarray
    producers_ci: np.ndarray
    area: np.ndarray
    area_ci: np.ndarray
    z: float = Z95

    def table(self) -> pd.DataFrame:
        """One row per class: map area, sample size, user's / producer's accuracy, estimated area (± CI)."""
        return pd.DataFrame({
            "class": self.classes, "map_area": self.map_area, "samples": self.counts.sum(axis=1),
            "users_accuracy": self.users, "users_ci": self.users_ci,
            "producers_accuracy": self.producers, "producers_ci": self.producers_ci,
            "area": self.area, "area_ci": self.area_ci,
            "area_low": self.area - self.area_ci, "area_high": self.area + self.area_ci,
        })


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def estimate(counts: np.ndarray, map_area: np.ndarray, classes: list[str], z: float = Z95) -> AreaAccuracy:
    """Stratified estimates of accuracy and area from sample counts and mapped areas.

    Args:
        counts: (K, K) sample counts, rows = map class (stratum), columns = reference class.
        map_area: (K,) mapped area of each class (pixels, hectares ...: the areas come out in this unit).
        classes: K class names.
        z: Normal quantile of the intervals (1.96: 95 %).

    Raises:
        CropGlobeError: For shapes that do not match, negative numbers, no mapped area, or a
            mapped class without a sample.
    """
    n = np.asarray(counts, dtype=np.float64)
    area_m = np.asarray(map_area, dtype=np.float64)
    k = len(classes)
    if n.shape != (k, k) or area_m.shape != (k,):
        raise CropGlobeError(f"counts {n.shape} and map_area {area_m.shape}: expected ({k}, {k}) and ({k},) "
                             f"for {k} classes")
    if (n < 0).any() or (area_m < 0).any() or not np.isfinite(area_m).all():
        raise CropGlobeError("counts and map areas must be finite and >= 0")
    total = area_m.sum()
    if total <= 0:
        raise CropGlobeError("the map has no mapped area")
    n_i = n.sum(axis=1)
    unsampled = [c for c, a, m in zip(classes, area_m, n_i, strict=True) if a > 0 and m == 0]
    if unsampled:
        raise CropGlobeError(f"map classes {', '.join(unsampled)} cover mapped area but have no reference sample; "
                             "stratified estimation needs a sample in every map class (2 or more for an interval)")
    w = area_m / total
    share = _ratio(n, n_i[:, None])  # n_ij / n_i.
    share = np.nan_to_num(share)  # classes with neither area nor sample contribute nothing
    p = w[:, None] * share
    dof = np.where(n_i > 1, n_i - 1, np.nan)  # one sample: no variance estimate
    sampled = n_i > 0

    overall = float(np.trace(p))
    users = np.where(sampled, np.diag(share), np.nan)
    v_overall = np.nansum(np.where(sampled, w ** 2 * users * (1 - users) / dof, 0.0))
    v_users = users * (1 - users) / dof

    col = p.sum(axis=0)  # p_.j
    producers = _ratio(np.diag(p), col)
    n_hat = (area_m[:, None] * share).sum(axis=0)  # estimated total of reference class j (map-area units)
    term = np.where(sampled[:, None], area_m[:, None] ** 2 * share * (1 - share) / dof[:, None], 0.0)
    v_producers = np.full(k, np.nan)
    for j in range(k):
        others = np.nansum(np.delete(term[:, j], j))
        own = area_m[j] ** 2 * (1 - producers[j]) ** 2 * users[j] * (1 - users[j]) / dof[j] if sampled[j] else 0.0
        if n_hat[j] > 0:
            v_producers[j] = (own + producers[j] ** 2 * others) / n_hat[j] ** 2
    se_p = np.sqrt(np.nansum(np.where(sampled[:, None], w[:, None] ** 2 * share * (1 - share) / dof[:, None], 0.0),
                             axis=0))
    if (sampled & (n_i == 1)).any():  # a class sampled once has no variance: its terms make the SE unknown
        once = sampled & (n_i == 1)
        se_p = np.where((share[once] > 0).any(axis=0), np.nan, se_p)
        v_overall = np.nan
    return AreaAccuracy(
        classes=list(classes), counts=n.astype(np.int64), map_area=area_m, proportions=p,
        overall=overall, overall_ci=float(z * np.sqrt(v_overall)), users=users, users_ci=z * np.sqrt(v_users),
        producers=producers, producers_ci=z * np.sqrt(v_producers), area=total * col, area_ci=z * total * se_p, z=z,
    )
