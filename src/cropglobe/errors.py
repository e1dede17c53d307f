"""The project's single exception type for invalid user input."""

from __future__ import annotations


class CropGlobeError(ValueError):
    """Invalid input from a user: a file, field or value that is not what was expected.

    Every validation at the edges (CLI, readers, configs, SampleSet checks) raises this type with a
    message naming *what* is wrong, *where* (file, field, sample) and *what was expected*. The CLI
    prints the message without a traceback and exits with status 2.
    """
