"""Named presets and resolution of experiment-config ``augment`` entries."""

from __future__ import annotations

import pytest
import yaml

from cropglobe.augment import (
    MagnitudeWarp,
    PhenologyAugment,
    TimeScale,
    TimeShift,
    get_preset,
    preset_names,
    resolve,
)
from cropglobe.errors import CropGlobeError


def test_paper_preset_has_the_paper_values() -> None:
    aug = PhenologyAugment.from_preset("paper")
    assert aug == PhenologyAugment(shift=TimeShift(max_days=10, p=0.5),
                                   scale=TimeScale(start_days=(-30, 10), end_days=(-30, 10), p=0.5),
                                   warp=MagnitudeWarp(sigma=0.2, knots=5, p=0.5))


def test_reference_code_preset_has_the_reference_values() -> None:
    aug = get_preset("reference-code")
    assert aug.shift == TimeShift(max_days=50, p=1.0)
    assert aug.scale == TimeScale(start_days=(-50, 50), end_days=(-50, 50), p=0.5)
    assert (aug.warp.sigma, aug.warp.p) == (0.1, 0.25)  # type: ignore[union-attr]


def test_preset_names_and_unknown_name() -> None:
    assert {"paper", "reference-code", "none"} <= set(preset_names())
    with pytest.raises(CropGlobeError, match=r"preset 'papers' is unknown; expected one of paper, reference-code"):
        get_preset("papers")
    with pytest.raises(CropGlobeError, match="preset 'x' is unknown"):
        PhenologyAugment.from_preset("x")


def test_resolve_from_experiment_yaml_with_overrides() -> None:
    spec = yaml.safe_load("""
augment:
  preset: paper
  shift: {max_days: 20}
  warp: null
""")["augment"]
    aug = resolve(spec)
    assert aug.shift == TimeShift(max_days=20, p=0.5)  # p kept from the preset
    assert aug.scale == get_preset("paper").scale
    assert aug.warp is None
    assert resolve(None).is_identity and resolve("none").is_identity
    assert resolve(aug) is aug
    custom = resolve({"scale": {"start_days": [-10, 0], "end_days": [0, 10], "p": 1}})
    assert custom.shift is None and custom.scale == TimeScale(start_days=(-10, 0), end_days=(0, 10), p=1)


@pytest.mark.parametrize(("spec", "match"), [
    ({"preset": "nope"}, "preset 'nope' is unknown"),
    ({"jitter": {}}, r"exp.yaml: augment: unknown key\(s\) \['jitter'\]"),
    ({"shift": 10}, r"exp.yaml: augment.shift: expected a mapping of fields or null, got 10"),
    ({"preset": "paper", "warp": {"knots": 2}}, r"exp.yaml: augment: PhenologyAugment: field warp.knots"),
    ({"scale": {"p": "often"}}, r"field scale.p: Input should be a valid number"),
    (["paper"], "expected a preset name or a mapping"),
])
def test_resolve_bad_specs(spec: object, match: str) -> None:
    with pytest.raises(CropGlobeError, match=match):
        resolve(spec, where="exp.yaml: augment")  # type: ignore[arg-type]
