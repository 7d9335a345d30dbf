"""Values checked against their dataclass annotations, in one place for every way a config is
made: the Python API, the command line and config files alike.

``check_field_types(config)`` accepts exactly the annotated types, with two lossless
conversions: an int where a float is expected becomes that float, and a list where a tuple is
expected becomes a tuple. Everything else (a string ``"false"`` for a bool, ``2.5`` or ``True``
for an int, ``inf`` or NaN for a float) raises ValueError naming the field and the value.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any

import numpy as np

_NO = object()  # the value does not conform


def _conform(value: Any, hint: Any) -> Any:
    """``value`` as ``hint`` (converted losslessly where allowed), or ``_NO``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        for option in args:
            conformed = _conform(value, option)
            if conformed is not _NO:
                return conformed
        return _NO
    if hint is type(None):
        return None if value is None else _NO
    if hint is bool:
        return bool(value) if isinstance(value, (bool, np.bool_)) else _NO
    if hint is int:
        ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
        return int(value) if ok else _NO
    if hint is float:
        ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
        return float(value) if ok and math.isfinite(value) else _NO
    if hint is str:
        return value if isinstance(value, str) else _NO
    if origin is tuple:
        if not isinstance(value, (tuple, list)):
            return _NO
        items = args[:1] * len(value) if len(args) == 2 and args[1] is Ellipsis else args
        if len(items) != len(value):
            return _NO
        converted = tuple(_conform(v, h) for v, h in zip(value, items))
        return _NO if any(c is _NO for c in converted) else converted
    if origin is dict:
        key_hint, value_hint = args or (Any, Any)
        if not isinstance(value, dict):
            return _NO
        converted_dict = {_conform(k, key_hint): _conform(v, value_hint) for k, v in value.items()}
        return _NO if any(k is _NO or v is _NO for k, v in converted_dict.items()) else converted_dict
    raise TypeError(f"no check for the annotation {hint!r}")  # pragma: no cover - a new field type


def _describe(hint: Any) -> str:
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if hint is type(None):
        return "None"
    if typing.get_origin(hint) is tuple:
        plural = {bool: "booleans", int: "integers", float: "finite numbers", str: "strings"}
        return f"a list of {plural.get(args[0], 'values')}" if args else "a list"
    if typing.get_origin(hint) is dict:
        return "a mapping"
    names = {bool: "true or false", int: "an integer", float: "a finite number", str: "a string"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def check_field_types(config: Any) -> None:
    """Check (and losslessly convert) every field of the dataclass instance ``config``; a
    value of the wrong type raises ValueError naming the class, the field and the value."""
    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        conformed = _conform(value, hints[f.name])
        if conformed is _NO:
            raise ValueError(f"{type(config).__name__}.{f.name} must be {_describe(hints[f.name])}, got {value!r}")
        if conformed is not value:
            object.__setattr__(config, f.name, conformed)


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    return _bounded_int(text, 1)


def non_negative_int(text: str) -> int:
    """An argparse type: an integer >= 0."""
    return _bounded_int(text, 0)


def _bounded_int(text: str, low: int) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {value}")
    return value
