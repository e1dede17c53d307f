"""Feature families: composites -> model inputs. :mod:`.families` holds the registry ``FEATURES`` and
the median features; :mod:`.harmonic`, :mod:`.indices`, :mod:`.emit` and :mod:`.presto` the other
families; :mod:`.stream` composites and computes features block by block from a Zarr store.
"""
