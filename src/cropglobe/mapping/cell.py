"""A trained cell for mapping, re-exported from :mod:`cropglobe.cells.cell` (where it lives, below both top floors)."""

from cropglobe.cells.cell import Recipe, load_cells, load_recipe

__all__ = ["Recipe", "load_cells", "load_recipe"]
