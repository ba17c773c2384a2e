"""A small deterministic TOML writer for the values the settings kinds produce (strings,
booleans, numbers, lists, inline tables); ``tomllib`` reads what it writes."""

from __future__ import annotations

import math
import re

__all__ = ["toml_assignment", "toml_key", "toml_value"]

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f"}
_ESCAPES["\r"] = "\\r"


def _toml_string(text: str) -> str:
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _toml_string(key)


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{toml_key(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    raise TypeError(f"cannot write {value!r} as TOML")  # pragma: no cover - kinds render


def toml_assignment(name: str, value: object) -> str:
    """``name = value``; a list of tables is written one table per line."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        rows = "".join(f"    {toml_value(v)},\n" for v in value)
        return f"{toml_key(name)} = [\n{rows}]"
    return f"{toml_key(name)} = {toml_value(value)}"
