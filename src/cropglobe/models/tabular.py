"""Random forest and LightGBM classifiers on flat features, behind one fit/predict_proba interface.

Sources: Breiman, "Random Forests", Machine Learning 45:5-32, 2001 (scikit-learn
``RandomForestClassifier``, 500 trees, ``class_weight="balanced"``, the random-forest baseline of
Tong & Wang, arXiv:2509.03497); Ke et al., "LightGBM: A Highly Efficient Gradient Boosting
Decision Tree", NeurIPS 2017 (``lightgbm.LGBMClassifier``, class-balanced, deterministic).

Probabilities always have one column per class index ``0 .. n_classes-1``; classes absent from
the training data get probability 0. Files are zip archives with ``cropglobe.json`` (the
:class:`~cropglobe.models.spec.ModelSpec`, the classes seen in training) and the model in a
format that loads without unpickling: LightGBM's model text or a skops file whose types are
checked against an allow-list before loading.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cropglobe.atomic import atomic_path
from cropglobe.errors import CropGlobeError
from cropglobe.models.spec import ModelSpec

FORMAT = "cropglobe-tabular-v1"
#: Types a random-forest skops file may contain beyond skops' defaults (which trust scikit-learn
#: estimators and numpy); anything else in a file is refused before loading.
TRUSTED_SKOPS_TYPES = frozenset({"sklearn.tree._tree.Tree"})

RF_DEFAULTS: dict[str, Any] = {"n_estimators": 500, "max_depth": None, "min_samples_leaf": 1,
                               "max_features": "sqrt", "n_jobs": -1}
LGBM_DEFAULTS: dict[str, Any] = {"n_estimators": 300, "learning_rate": 0.05, "num_leaves": 31,
                                 "min_child_samples": 20, "subsample": 0.8, "subsample_freq": 1,
                                 "colsample_bytree": 0.8, "reg_lambda": 1.0, "n_jobs": -1}


class TabularClassifier:
    """A seeded, class-balanced RF or LightGBM model with fixed class columns.

    Args:
        spec: The model spec (``name`` is ``"rf"`` or ``"lightgbm"``; ``options`` override the
            defaults above, plus ``seed``, default 0).
    """

    def __init__(self, spec: ModelSpec) -> None:
        if spec.name not in ("rf", "lightgbm"):
            raise CropGlobeError(f"tabular model must be 'rf' or 'lightgbm', got {spec.name!r}")
        defaults = RF_DEFAULTS if spec.name == "rf" else LGBM_DEFAULTS
        unknown = set(spec.options) - set(defaults) - {"seed"}
        if unknown:
            raise CropGlobeError(f"model {spec.name!r}: unknown option(s) {sorted(unknown)}; "
                                 f"allowed: {sorted(defaults) + ['seed']}")
        self.spec = spec
        self.params = {**defaults, **{k: v for k, v in spec.options.items() if k != "seed"}}
        self.seed = int(spec.options.get("seed", 0))
        self.classes_seen: np.ndarray | None = None
        self._model: Any = None  # RandomForestClassifier or lightgbm.Booster

    @property
    def n_features(self) -> int:
        """Input width ``F = n_bands × n_times``."""
        return self.spec.n_bands * self.spec.n_times

    def _check_x(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        X = X.reshape(len(X), -1) if X.ndim > 2 else X
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise CropGlobeError(f"model {self.spec.name!r}: features must have shape (N, "
                                 f"{self.n_features}), got {X.shape}")
        if not np.isfinite(X).all():
            raise CropGlobeError(f"model {self.spec.name!r}: features contain NaN or infinite "
                                 f"values in {int((~np.isfinite(X).any(1)).sum())} sample(s)")
        return X

    def _build(self) -> Any:
        if self.spec.name == "rf":
            from sklearn.ensemble import RandomForestClassifier

            return RandomForestClassifier(class_weight="balanced", random_state=self.seed, **self.params)
        from lightgbm import LGBMClassifier

        return LGBMClassifier(class_weight="balanced", random_state=self.seed, deterministic=True,
                              force_row_wise=True, verbose=-1, **self.params)

    def fit(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None
            ) -> TabularClassifier:
        """Fit on features ``(N, F)`` and integer class indices ``(N,)``; returns ``self``.

        Raises:
            CropGlobeError: On wrong shapes, non-finite features, class indices outside
                ``0 .. n_classes-1``, fewer than two classes, or bad sample weights.
        """
        X = self._check_x(X)
        y = np.asarray(y)
        if y.shape != (len(X),) or not np.issubdtype(y.dtype, np.integer):
            raise CropGlobeError(f"model {self.spec.name!r}: labels must be {len(X)} integer class "
                                 f"indices, got shape {y.shape} dtype {y.dtype}")
        bad = (y < 0) | (y >= self.spec.n_classes)
        if bad.any():
            raise CropGlobeError(f"model {self.spec.name!r}: label {int(y[bad][0])} outside class "
                                 f"indices 0..{self.spec.n_classes - 1}")
        if len(np.unique(y)) < 2:
            raise CropGlobeError(f"model {self.spec.name!r}: training labels contain only one "
                                 "class; at least two are needed")
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
            if sample_weight.shape != y.shape or not np.isfinite(sample_weight).all() \
                    or (sample_weight < 0).any():
                raise CropGlobeError(f"model {self.spec.name!r}: sample_weight must be {len(y)} "
                                     "finite non-negative values")
        est = self._build().fit(X, y, sample_weight=sample_weight)
        self.classes_seen = np.asarray(est.classes_, dtype=np.int64)
        self._model = est if self.spec.name == "rf" else est.booster_
        return self

    def predict_proba(self, X: np.ndarray, num_threads: int | None = None) -> np.ndarray:
        """Class probabilities ``(N, n_classes)``; unseen classes have probability 0.

        Args:
            X: Features ``(N, F)``.
            num_threads: LightGBM threads for this call (e.g. 1 when several map tiles predict side by
                side); None = the model's ``n_jobs``. The random forest always uses its ``n_jobs``.
        """
        if self._model is None or self.classes_seen is None:
            raise CropGlobeError(f"model {self.spec.name!r} is not fitted; call fit() first")
        X = self._check_x(X)
        if self.spec.name == "rf":
            p = self._model.predict_proba(X)
        else:
            extra = {} if num_threads is None else {"num_threads": int(num_threads)}
            p = np.asarray(self._model.predict(X, **extra))
            if p.ndim == 1:  # binary objective: probability of the second class
                p = np.stack([1.0 - p, p], axis=1)
        out = np.zeros((len(X), self.spec.n_classes), dtype=np.float64)
        out[:, self.classes_seen] = p
        return out

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Most probable class index per sample."""
        return self.predict_proba(X).argmax(1)

    def save(self, path: str | os.PathLike, bands: Sequence[str] | None = None,
             class_names: Sequence[str] | None = None) -> Path:
        """Write the fitted model (and optionally its band/class names) atomically to ``path``."""
        if self._model is None or self.classes_seen is None:
            raise CropGlobeError(f"model {self.spec.name!r} is not fitted; nothing to save")
        spec = self.spec.with_labels(bands, class_names)
        if self.spec.name == "rf":
            import skops.io

            member, payload = "model.skops", skops.io.dumps(self._model)
        else:
            member, payload = "model.txt", self._model.model_to_string().encode("utf-8")
        header = {"format": FORMAT, "spec": json.loads(spec.to_json()),
                  "classes_seen": self.classes_seen.tolist()}
        with atomic_path(path) as tmp:
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.writestr("cropglobe.json", json.dumps(header))
                zf.writestr(member, payload)
        self.spec = spec
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike, expect_bands: Sequence[str] | int | None = None,
             expect_classes: Sequence[str] | int | None = None) -> TabularClassifier:
        """Load a model written by :meth:`save` without unpickling anything.

        Raises:
            CropGlobeError: If the file is not a cropglobe tabular model, contains types outside
                the allow-list, or its bands/classes differ from the expected ones.
        """
        where = str(path)
        try:
            with zipfile.ZipFile(path) as zf:
                header = json.loads(zf.read("cropglobe.json"))
                if not isinstance(header, dict) or header.get("format") != FORMAT:
                    raise CropGlobeError(f"{where}: format field must be {FORMAT!r}")
                spec = ModelSpec.from_json(json.dumps(header.get("spec")), where)
                member = "model.skops" if spec.name == "rf" else "model.txt"
                payload = zf.read(member)
        except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
            raise CropGlobeError(f"{where}: not a cropglobe tabular model file ({exc})") from None
        spec.check(expect_bands, expect_classes, where)
        model = cls(spec)
        model.classes_seen = np.asarray(header.get("classes_seen", []), dtype=np.int64)
        if spec.name == "rf":
            model._model = _load_skops(payload, where)
            if not np.array_equal(model._model.classes_, model.classes_seen):
                raise CropGlobeError(f"{where}: classes_seen does not match the stored forest")
        else:
            import lightgbm

            try:
                model._model = lightgbm.Booster(model_str=payload.decode("utf-8"))
            except (lightgbm.basic.LightGBMError, UnicodeDecodeError) as exc:
                raise CropGlobeError(f"{where}: invalid LightGBM model text ({exc})") from None
        return model


def _load_skops(payload: bytes, where: str) -> Any:
    """Load a RandomForestClassifier from skops bytes after checking every type it names."""
    import skops.io
    from sklearn.ensemble import RandomForestClassifier

    try:
        untrusted = set(skops.io.get_untrusted_types(data=payload))
    except Exception as exc:  # skops raises several types on malformed archives
        raise CropGlobeError(f"{where}: unreadable skops model ({type(exc).__name__}: {exc})") from None
    refused = untrusted - TRUSTED_SKOPS_TYPES
    if refused:
        raise CropGlobeError(f"{where}: refusing to load a model containing untrusted types "
                             f"{sorted(refused)}; allowed beyond scikit-learn/numpy defaults: "
                             f"{sorted(TRUSTED_SKOPS_TYPES)}")
    est = skops.io.loads(payload, trusted=sorted(untrusted))
    if not isinstance(est, RandomForestClassifier):
        raise CropGlobeError(f"{where}: expected a RandomForestClassifier, found {type(est).__name__}")
    return est


def is_tabular_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a zip archive with a ``cropglobe.json`` member (a tabular model file)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return "cropglobe.json" in zf.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


__all__ = ["TabularClassifier", "TRUSTED_SKOPS_TYPES", "is_tabular_file"]
