"""Shared fixtures: tiny simulated SampleSets and the real data in ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("CROPGLOBE_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ../shared/data; tests using it are skipped with a reason when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (set CROPGLOBE_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_observations():
    """A small simulated observation-level SampleSet (8 countries, 6 samples per class)."""
    from cropglobe.sources import simulate

    return simulate.simulate(samples_per_class=6, seed=1)


SHARED_MODELS = Path(os.environ.get("CROPGLOBE_SHARED_MODELS", REPO.parent / "shared" / "models"))


@pytest.fixture(scope="session")
def shared_models() -> Path:
    """Path to ../shared/models (pretrained weights such as presto/default_model.pt); skips when absent."""
    if not SHARED_MODELS.is_dir():
        pytest.skip(f"pretrained models folder {SHARED_MODELS} is absent (set CROPGLOBE_SHARED_MODELS)")
    return SHARED_MODELS


@pytest.fixture(scope="session")
def presto_weights(shared_models: Path) -> Path:
    """Presto's pretrained ``default_model.pt`` in ../shared/models; skips when absent."""
    path = shared_models / "presto" / "default_model.pt"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return path
