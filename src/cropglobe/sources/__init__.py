"""Sources of observation-level SampleSets: acquisition from STAC / Earth Engine (:mod:`.acquire`),
readers of published tables (:mod:`.readers`), EMIT granules (:mod:`.emit`) and the simulator
(:mod:`.simulate`, :mod:`.simulate_large`).
"""
