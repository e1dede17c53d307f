"""The one YAML reader for user files (configs, mappings, offsets, remaps, parameters).

``yaml.safe_load`` builds no objects but still (a) expands aliases, so a few hundred bytes of
nested ``*ref`` lists grow to gigabytes (a "billion laughs" bomb), (b) recurses once per nesting
level, so a deeply nested file ends in ``RecursionError``, and (c) leaves decoding to the caller,
where a UTF-16 or latin-1 file raised ``UnicodeDecodeError``. :func:`load_yaml` refuses aliases
(cropglobe's configs never need them: write the value out), limits nesting to
:data:`MAX_DEPTH` levels and reads UTF-8 only, each with one :class:`~cropglobe.errors.CropGlobeError`
naming the file and, where known, the line.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from cropglobe.checks import error_text
from cropglobe.errors import CropGlobeError

Model = TypeVar("Model", bound=BaseModel)

#: Deepest nesting of mappings / lists accepted (configs use fewer than 10 levels).
MAX_DEPTH = 64


class _Refused(yaml.YAMLError):
    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem)
        self.problem, self.mark = problem, mark


class _Loader(yaml.SafeLoader):
    """SafeLoader without aliases and with a nesting limit (checked while composing, before any expansion)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _Refused(f"alias *{event.anchor} (YAML aliases are not accepted in cropglobe files: write the "
                           "value out)", event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"nested deeper than {MAX_DEPTH} levels", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def decode(data: bytes, where: str) -> str:
    """UTF-8 text of a file's bytes (a UTF-8 byte-order mark is allowed).

    Raises:
        CropGlobeError: For UTF-16/32 (by their byte-order marks) or any byte sequence that is not UTF-8.
    """
    for bom, name in ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
                      (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16")):
        if data.startswith(bom) and not data.startswith(codecs.BOM_UTF8):
            raise CropGlobeError(f"{where}: the file is {name} text; expected UTF-8 (save it as UTF-8)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise CropGlobeError(f"{where}: line {line}: byte 0x{data[err.start]:02x} is not UTF-8 (latin-1 or another "
                             "encoding?); expected UTF-8 text (save it as UTF-8)") from None


def parse(text: str | bytes, where: str) -> Any:
    """Parse YAML text (bytes are decoded as UTF-8) with the limits above.

    Raises:
        CropGlobeError: ``"<where>: not valid YAML (...)"`` for a syntax error; ``"<where>: line N:
            not accepted: ..."`` for an alias or nesting deeper than :data:`MAX_DEPTH`; and for
            text that is not UTF-8.
    """
    if isinstance(text, bytes):
        text = decode(text, where)
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    except _Refused as err:
        line = f"line {err.mark.line + 1}: " if err.mark is not None else ""
        raise CropGlobeError(f"{where}: {line}not accepted: {err.problem}") from None
    except yaml.YAMLError as err:
        first = " ".join(str(err).split())[:300]
        raise CropGlobeError(f"{where}: not valid YAML ({first})") from None
    except RecursionError:  # nesting the composer did not see (e.g. in a flow scalar's parser)
        raise CropGlobeError(f"{where}: not valid YAML (nested too deeply)") from None
    finally:
        loader.dispose()


def load(path: str | os.PathLike, where: str | None = None) -> Any:
    """Read and parse a YAML file (``OSError`` is left to the caller, which knows what the file is for).

    Raises:
        CropGlobeError: As :func:`parse`.
        OSError: When the file cannot be read.
    """
    p = Path(path)
    return parse(p.read_bytes(), where or str(p))


def load_mapping(path: str | os.PathLike, what: str, expected: str = "a mapping at the top level") -> dict:
    """Read a YAML config file that must hold a mapping: one CropGlobeError for every way it can fail.

    Args:
        path: The file.
        what: What the file is, for messages (``"experiment config"``).
        expected: What the top level should be, for messages.

    Raises:
        CropGlobeError: Unreadable file (naming ``what``), bad YAML (:func:`parse`), or no mapping.
    """
    p = Path(path)
    try:
        raw = load(p)
    except OSError as err:
        raise CropGlobeError(f"{p}: cannot read the {what} ({err.strerror})") from None
    if not isinstance(raw, dict):
        raise CropGlobeError(f"{p}: expected {expected}")
    return raw


def load_model(path: str | os.PathLike, model: type[Model], what: str,
               expected: Callable[[ValidationError], str]) -> Model:
    """Read a YAML file into a pydantic model: one CropGlobeError for every way it can fail.

    Args:
        path: The file.
        model: The pydantic model the file's content must fit.
        what: What the file is, for messages (``"table mapping"``).
        expected: The end of the message of an invalid field (e.g. what the file should hold),
            given the pydantic error.

    Raises:
        CropGlobeError: Unreadable file (naming ``what``), bad YAML (:func:`parse`), or the first
            field that does not fit ``model``: ``"<path>: field '<loc>': <problem><expected>"``.
    """
    p = Path(path)
    try:
        data = load(p, where=f"{p} ({what})")
    except OSError as err:
        raise CropGlobeError(f"{p}: cannot read the {what} ({type(err).__name__}: {err})") from None
    try:
        return model.model_validate(data)
    except ValidationError as err:
        loc, problem = error_text(err, root="(top level)", model=model)
        raise CropGlobeError(f"{p}: field {loc!r}: {problem}{expected(err)}") from None
