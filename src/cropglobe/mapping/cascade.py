"""The cascade's margin, chosen on the mapped region's own pixels for a wanted agreement with the teacher.

``map --fast --defer MARGIN`` hands the pixels on which the student's top class leads the next by
less than MARGIN to the teacher (:func:`cropglobe.mapping.predict.defer`; Viola & Jones, CVPR 2001;
Wang et al., "Wisdom of Committees", ICLR 2022). How faithful a given margin makes the map depends
on the region: on the real Canada -> Arkansas pixels 0.02 lifts the anchored teacher's student from
0.963-0.968 to 0.972-0.976, while on the 499 France pixels it changes almost nothing
(docs/results.md, "Fast path on real data", tenth pass).

``map --fast --agree A`` therefore chooses the margin per region, without a label: a share of the
region's sampled pixels is held out of the distillation (:func:`split_holdout`); the teacher and
the student both classify them, and the margin is the smallest of :data:`MARGINS` at which the
cascade (the student's class where its margin reaches the threshold, the teacher's elsewhere)
agrees with the teacher on at least ``A`` of them (:func:`calibrate`). This is split-sample
validation of a selective classifier's threshold (Geifman & El-Yaniv, "Selective Classification for
Deep Neural Networks", NeurIPS 2017), with the teacher's classes in place of labels.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from cropglobe.errors import CropGlobeError

#: The margins :func:`calibrate` tries, smallest first; 1.0 hands (almost) every pixel to the teacher.
MARGINS = (0.0, 0.01, 0.02, 0.03, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0)
#: Share of the sampled region pixels held out of the distillation to choose the margin on.
HOLDOUT_SHARE = 0.2


@dataclass(frozen=True)
class Calibration:
    """The margin chosen on held-out pixels, and what it gave there.

    Attributes:
        agreement_wanted: The agreement with the teacher asked for.
        margin: The chosen margin (0: the student alone is faithful enough).
        pixels: Held-out pixels it was chosen on.
        student_agreement: The student's agreement with the teacher on them.
        agreement: The cascade's agreement at the chosen margin.
        deferred_share: The share of them the cascade hands to the teacher at that margin.
    """

    agreement_wanted: float
    margin: float
    pixels: int
    student_agreement: float
    agreement: float
    deferred_share: float

    def record(self) -> dict:
        """The fields, rounded, for the map's ``TEACHER`` tag."""
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def check_agreement(agreement: float) -> float:
    """Return ``agreement`` as a float after checking it lies in (0, 1].

    Raises:
        CropGlobeError: For a value outside (0, 1].
    """
    if not 0.0 < agreement <= 1.0:
        raise CropGlobeError(f"cascade agreement {agreement}: expected the share of pixels on which the map "
                             "should agree with the teacher, in (0, 1] (e.g. 0.97; map --fast --agree)")
    return float(agreement)


def split_holdout(indices: np.ndarray, seed: int, share: float = HOLDOUT_SHARE) -> tuple[np.ndarray, np.ndarray]:
    """Split pixel indices into ``(distil, held_out)``, both sorted; ``share`` of them (at least one) held out.

    Raises:
        CropGlobeError: With fewer than two pixels (nothing left to distil on or to hold out).
    """
    indices = np.asarray(indices)
    if len(indices) < 2:
        raise CropGlobeError(f"cascade calibration: {len(indices)} sampled pixel(s); expected at least 2, one "
                             "to distil on and one to hold out")
    n_out = min(len(indices) - 1, max(1, round(share * len(indices))))
    order = np.random.default_rng([int(seed), 2]).permutation(len(indices))
    return np.sort(indices[order[n_out:]]), np.sort(indices[order[:n_out]])


def margins(proba: np.ndarray) -> np.ndarray:
    """Each row's top class probability minus the next (N,): the student's own confidence margin."""
    top2 = np.partition(np.asarray(proba), proba.shape[1] - 2, axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def calibrate(student: np.ndarray, teacher: np.ndarray, agreement: float) -> Calibration:
    """The smallest of :data:`MARGINS` at which the cascade agrees with the teacher on ``agreement`` of the pixels.

    Args:
        student: The student's class probabilities (N, C) on held-out pixels.
        teacher: The teacher's (N, C) on the same pixels.
        agreement: The share wanted, in (0, 1].

    Returns:
        The margin and what it gives on these pixels; the largest margin when none reaches ``agreement``.

    Raises:
        CropGlobeError: For a bad agreement, no pixel, or shapes that differ.
    """
    agreement = check_agreement(agreement)
    student, teacher = np.asarray(student), np.asarray(teacher)
    if student.shape != teacher.shape or student.ndim != 2 or not len(student):
        raise CropGlobeError(f"cascade calibration: student {student.shape} and teacher {teacher.shape} "
                             "probabilities; expected the same (N, C) with N >= 1")
    agree = student.argmax(1) == teacher.argmax(1)
    margin = margins(student)
    for tau in MARGINS:  # smallest first; the last one stands when none reaches the agreement
        deferred = margin < tau
        reached = float((agree | deferred).mean())
        if reached >= agreement:
            break
    return Calibration(agreement, float(tau), len(agree), float(agree.mean()), reached, float(deferred.mean()))
