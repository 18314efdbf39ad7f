"""Decoding documents from JSON or TOML bytes, with errors that name the field."""

from __future__ import annotations

import re
from typing import Literal, TypeVar

import msgspec

from khronika.domain.errors import ValidationError

Format = Literal["json", "toml"]

# The most a document (`append`) or one import line may take. Input larger
# than this, or without an end (/dev/zero), is refused before it is read whole.
MAX_DOCUMENT_BYTES = 1_000_000
# The largest count or position a command takes: SQL's 64-bit integer.
MAX_COUNT = 2**63 - 1
T = TypeVar("T")

_MISSING = re.compile(
    r"^Object missing required field `(?P<field>[^`]+)`"
    r"(?: - at `\$\.?(?P<at>[^`]*)`)?$"
)
_AT = re.compile(r"^(?P<problem>.*?) - at `\$\.?(?P<field>[^`]*)`$")


def field_error(error: msgspec.MsgspecError, prefix: str = "") -> ValidationError:
    """A msgspec error as a ValidationError naming the field it is about."""
    text = str(error)
    missing = _MISSING.match(text)
    if missing is not None:
        parent = missing["at"] + "." if missing["at"] else ""
        return ValidationError(prefix + parent + missing["field"], "is required")
    match = _AT.match(text)
    if match is None:
        return ValidationError(prefix.rstrip("."), _lower_first(text))
    field = prefix + match["field"] if match["field"] else prefix.rstrip(".")
    return ValidationError(field or "document", _lower_first(match["problem"]))


def decode(data: bytes, cls: type[T], fmt: Format = "json") -> T:
    """Decode one document of type `cls`; raise ValidationError on any flaw."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValidationError(
            "document", f"is not UTF-8 (byte {e.start} is 0x{data[e.start]:02x})"
        ) from None
    try:
        if fmt == "toml":
            return msgspec.toml.decode(text, type=cls)
        return msgspec.json.decode(text, type=cls)
    except msgspec.ValidationError as e:  # a subclass of DecodeError: first
        raise field_error(e) from None
    except msgspec.DecodeError as e:
        raise ValidationError("document", f"is not valid {fmt.upper()}: {e}") from None


def sniff(data: bytes, name: str = "") -> Format:
    """TOML for .toml files, JSON for .json, else by the first character."""
    if name.endswith(".toml"):
        return "toml"
    if name.endswith((".json", ".jsonl")):
        return "json"
    return "json" if data.lstrip()[:1] in (b"{", b"[") else "toml"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
