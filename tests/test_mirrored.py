"""Every module has a mirrored test file, or the note says why not (issue 25).

``src/cropglobe/<path>/<name>.py`` is tested in ``tests/<path>/test_<name>.py``. The modules in
:data:`EXEMPT` have none, each for the reason given: re-exports, a command's wiring tested through
the CLI, or a helper tested where its one user is. The list may only shrink: a new module without a
mirrored test fails, and so does an entry that has one now or no longer exists (remove it).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "cropglobe"

_CLI = "a command's wiring (options -> library call -> output), run through typer's CliRunner in "
#: ``<path>/<name>.py`` -> why it has no ``tests/<path>/test_<name>.py``.
EXEMPT: dict[str, str] = {
    # pure re-exports
    "experiment/study.py": "re-exports cropglobe.study.spec (tests/study/)",
    "mapping/cell.py": "re-exports cropglobe.cells.cell (tests/cells/test_cell.py)",
    "errors.py": "the one exception class, no logic; its messages are asserted by every test of a failure",
    # the CLI: one module per command, tested through the command line
    "cli/_choices.py": "the Typer enums built from cropglobe.choices: tests/cli/test_typed_choices.py",
    "cli/_selftrain.py": "one-step predict / map --adapt selftrain: tests/cli/test_selftrain_cmd.py (the name "
                         "test_selftrain.py is tests/experiment's)",
    "cli/_groups.py": "the command tree, aliases and completion: tests/cli/test_groups.py",
    "cli/acquire.py": _CLI + "tests/sources/acquire/test_job.py and tests/reliability/test_guarded_writes.py",
    "cli/adapt.py": _CLI + "tests/experiment/test_adapt.py (`study adapt`, `study adapt-cell`)",
    "cli/bench.py": _CLI + "tests/cli/test_cli.py and tests/test_bench.py",
    "cli/composite.py": _CLI + "tests/cli/test_composite_cmd.py",
    "cli/configs.py": _CLI + "tests/test_examples.py (`configs copy`)",
    "cli/demo.py": _CLI + "tests/reliability/test_outputs.py and tests/docs/test_readme_demo.py",
    "cli/features.py": _CLI + "tests/cli/test_features_cmd.py",
    "cli/importer.py": _CLI + "tests/cli/test_importer_cmd.py",
    "cli/info.py": _CLI + "tests/reliability/test_usage_errors.py and tests/reliability/test_corrupt_inputs.py",
    "cli/map.py": _CLI + "tests/cli/test_map_cmd.py",
    "cli/predict.py": _CLI + "tests/cli/test_predict_cmd.py",
    "cli/presto.py": _CLI + "tests/features/presto/test_embed.py and tests/reliability/test_user_files.py",
    "cli/simulate.py": _CLI + "tests/reliability/test_noise.py and tests/reliability/test_os_errors.py",
    "cli/transfer.py": _CLI + "tests/cli/test_transfer_cmd.py",
    # helpers tested where their one user is, or by a cross-cutting reliability test
    "augment/strict.py": "the augmentation's pydantic base (unknown fields refused): tests/augment/test_presets.py",
    "daskclient.py": "connecting to a --scheduler address: tests/reliability/test_low_items_round3.py",
    "experiment/harmonise.py": "joining data paths of a study: tests/experiment/test_regions.py",
    "experiment/lock.py": "the run folder's lock: tests/reliability/test_run_lock.py",
    "interrupt.py": "exit codes on signals: tests/reliability/test_signals.py",
    "mapping/demo.py": "the demo's map: tests/mapping/test_demo_map.py",
    "mapping/predict_stream.py": "`predict` block by block: tests/reliability/test_predict_blocks.py and "
                                 "test_predict_align_blocks.py",
    "mapping/simcube.py": "the SIMULATED cube: tests/mapping/conftest.py (sim_cube) and tests/mapping/test_map.py",
    "mapping/store.py": "the cube's Zarr codec and write_cube: tests/reliability/test_chunk_checksums.py and "
                        "tests/mapping/test_cube.py",
    "mapping/tiffcheck.py": "GeoTIFF cube checks of mapping.cube: tests/reliability/test_geotiff_scales.py and "
                            "test_crafted_cube.py",
    "mapping/write.py": "the map's GeoTIFF writer: tests/mapping/test_map_products.py",
    "models/layout.py": "the band x time image of the CNNs: tests/models/test_cropnet.py",
    "sources/acquire/plan.py": "the acquisition plan: tests/sources/acquire/test_job.py and test_config.py",
    "sources/acquire/reader.py": "reading STAC chunks: tests/sources/acquire/test_job.py (a local scene)",
    "sources/acquire/stac.py": "STAC search and assets: tests/sources/acquire/test_job.py (a local catalogue)",
    "sources/readers/pivot.py": "long -> wide tables: tests/sources/readers/test_table.py and test_table_ee.py",
    "sources/readers/table_io.py": "reading table files: tests/sources/readers/test_table.py",
    "sources/readers/table_mapping.py": "the table mapping spec: tests/sources/readers/test_table.py",
    "sources/readers/worldcereal_time.py": "WorldCereal's time axis: tests/sources/readers/test_worldcereal.py",
    "summary.py": "a SampleSet's summary: tests/sources/readers/test_table.py",
    "verbosity.py": "--quiet / --verbose: tests/cli/test_transfer_cmd.py and tests/reliability/test_noise.py",
    "yamlfile.py": "the one YAML reader: tests/reliability/test_yaml_files.py",
}


def modules() -> list[str]:
    """Every module of the package but ``__init__.py``, as ``<path>/<name>.py``."""
    return sorted(p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py") if p.name != "__init__.py")


def mirrored(module: str) -> Path:
    """The test file that mirrors ``module``."""
    path = Path(module)
    return ROOT / "tests" / path.parent / f"test_{path.name}"


def test_every_module_has_a_mirrored_test_or_a_reason():
    missing = [m for m in modules() if not mirrored(m).is_file() and m not in EXEMPT]
    assert not missing, "modules without tests/<path>/test_<name>.py (add one, or a reason to EXEMPT): " + \
        ", ".join(missing)


def test_the_exemptions_are_current():
    stale = [m for m in EXEMPT if m not in modules() or mirrored(m).is_file()]
    assert not stale, f"remove from EXEMPT (gone, or mirrored now): {', '.join(stale)}"
    assert all(reason.strip() for reason in EXEMPT.values())


def test_the_reasons_name_existing_tests():
    import re

    named = {m: re.findall(r"tests/[\w/]+\.py", reason) for m, reason in EXEMPT.items()}
    missing = [f"{m}: {t}" for m, tests in named.items() for t in tests if not (ROOT / t).is_file()]
    assert not missing, "reasons naming test files that do not exist: " + ", ".join(missing)
