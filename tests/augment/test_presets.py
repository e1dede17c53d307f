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
    aug = get_preset("paper")
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
        get_preset("x")


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


def test_single_transform_presets_hold_one_transform_each() -> None:
    for name, section in [("shift-10d", "shift"), ("shift-30d", "shift"), ("shift-50d", "shift"),
                          ("scale-sym10d", "scale"), ("scale-paper", "scale"), ("scale-sym30d", "scale"),
                          ("warp-0.05", "warp"), ("warp-0.1", "warp"), ("warp-0.2", "warp")]:
        aug = get_preset(name)
        on = [s for s in ("shift", "scale", "warp") if getattr(aug, s) is not None]
        assert on == [section], name
    assert get_preset("warp-0.2").warp == get_preset("paper").warp
    assert get_preset("scale-paper").scale == get_preset("paper").scale
    nowarp = get_preset("paper-nowarp")
    assert nowarp.warp is None and nowarp.shift == get_preset("paper").shift


def test_labels_of_config_entries() -> None:
    from cropglobe.augment import label

    assert label("paper") == "paper" and label(None) == "none"
    assert label({"shift": {"p": 0.5, "max_days": 10}}) == "shift-max_days10-p0.5"
    assert label({"preset": "paper", "warp": None}) == "paper+warp-off"
    assert label({"scale": {"start_days": [-30, 10.0]}}) == "scale-start_days-30_10"
    assert label({"name": "my shift", "shift": {"max_days": 5}}) == "my_shift"
    assert resolve({"name": "my shift", "shift": {"max_days": 5}}).shift == TimeShift(max_days=5, p=0.5)
    with pytest.raises(CropGlobeError, match="non-empty"):
        label({"name": ""})


def test_misspelt_augmentation_keys_get_did_you_mean():
    """A misspelt section or field of an inline augmentation names the right one (issue 27)."""
    with pytest.raises(CropGlobeError, match=r"unknown key\(s\) \['shfit'\].*did you mean 'shift'\?"):
        resolve({"shfit": {}}, "x.yaml: augment")
    with pytest.raises(CropGlobeError, match=r"field shift\.max_dayz: Extra inputs are not permitted; did you mean "
                                             r"'max_days'\? \(got 3\)"):
        resolve({"shift": {"max_dayz": 3}}, "x.yaml: augment")
