"""Decoding documents from JSON or TOML bytes, with errors that name the field."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Literal, NamedTuple, TypeVar, cast

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


def field_error(
    error: msgspec.MsgspecError, prefix: str = "", cls: Any = None, tag: Any = None
) -> ValidationError:
    """A msgspec error as a ValidationError naming the field it is about.

    Given the type that was decoded (`cls`, and for a tagged union the
    record's `tag`), the problem is said in words: a pattern becomes the rule
    it stands for, and a bad enum value lists the allowed ones.
    """
    text = str(error)
    rules = _rules(cls, tag)
    missing = _MISSING.match(text)
    if missing is not None:
        field = prefix + (missing["at"] + "." if missing["at"] else "")
        field += missing["field"]
        allowed = rules.enums.get(_shape(field.removeprefix(prefix)))
        return ValidationError(field, "is required" + _one_of(allowed))
    match = _AT.match(text)
    if match is None:
        return ValidationError(prefix.rstrip("."), _lower_first(text))
    field = prefix + match["field"] if match["field"] else prefix.rstrip(".")
    problem = _lower_first(match["problem"])
    regex = _REGEX.match(problem)
    if regex is not None and regex["pattern"] in rules.patterns:
        problem = "must be " + rules.patterns[regex["pattern"]]
    bad = _BAD_VALUE.match(problem)
    allowed = rules.enums.get(_shape(match["field"]))
    if bad is not None and allowed:
        problem = f"{bad['value']} is not allowed" + _one_of(allowed)
    return ValidationError(field or "document", problem)


class _Rules(NamedTuple):
    enums: dict[str, tuple[str, ...]]  # field path (no indices) -> values
    patterns: dict[str, str]  # regular expression -> the rule in words


_REGEX = re.compile(r"^expected `str` matching regex (?P<pattern>.*)$", re.S)
_BAD_VALUE = re.compile(r"^invalid (?:enum )?value (?P<value>.*)$", re.S)
_INDEX = re.compile(r"\[\d+\]")


def _shape(path: str) -> str:
    return _INDEX.sub("", path)


def _one_of(values: tuple[str, ...] | None) -> str:
    return "; one of: " + ", ".join(values) if values else ""


@lru_cache(maxsize=32)
def _rules(cls: Any, tag: Any) -> _Rules:
    rules = _Rules({}, {})
    if cls is not None:
        info = msgspec.inspect.type_info(cls)
        if isinstance(info, msgspec.inspect.UnionType) and tag is not None:
            _walk(info, "", rules)  # the tags, then only the tagged record
            info = next((t for t in info.types if getattr(t, "tag", 0) == tag), info)
        _walk(info, "", rules)
    return rules


def _walk(t: msgspec.inspect.Type, path: str, rules: _Rules) -> None:
    mi = msgspec.inspect
    if isinstance(t, mi.Metadata):
        rule = (t.extra_json_schema or {}).get("description")
        if rule and isinstance(t.type, mi.StrType) and t.type.pattern:
            rules.patterns[repr(t.type.pattern)] = rule  # as msgspec quotes it
        _walk(t.type, path, rules)
    elif isinstance(t, mi.LiteralType):
        rules.enums[path] = tuple(str(v) for v in t.values)
    elif isinstance(t, mi.UnionType):
        tagged = [x for x in t.types if isinstance(x, mi.StructType) and x.tag]
        if tagged and tagged[0].tag_field:
            field = f"{path}.{tagged[0].tag_field}".lstrip(".")
            rules.enums[field] = tuple(str(x.tag) for x in tagged)
        for member in t.types:
            _walk(member, path, rules)
    elif isinstance(t, mi.StructType):
        for f in t.fields:
            _walk(f.type, f"{path}.{f.encode_name}".lstrip("."), rules)
    elif isinstance(t, mi.ListType | mi.SetType | mi.VarTupleType):
        _walk(t.item_type, path, rules)
    elif isinstance(t, mi.DictType):
        _walk(t.value_type, path, rules)


def decode(data: bytes, cls: type[T], fmt: Format = "json") -> T:
    """Decode one document of type `cls`; raise ValidationError on any flaw.

    JSON nested deeper than MAX_DEPTH is refused before it is decoded: a
    decoder would recurse once a level, to the end of Python's stack (and
    any finaliser run down there fails). TOML, whose decoder is Python's,
    is refused when it meets that end.
    """
    if fmt == "json" and _depth_over(data, MAX_DEPTH):
        raise ValidationError("document", f"is nested more than {MAX_DEPTH} deep")
    try:
        return _decode(data, cls, fmt)
    except RecursionError:
        raise ValidationError("document", "is nested too deeply") from None


MAX_DEPTH = 64  # a fact nests 4 levels; a JSON document at most this many
# a JSON string (to its end, if it has none) or a bracket
_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"?|[\[\]{}]')


def _depth_over(data: bytes, limit: int) -> bool:
    """Whether JSON `data` nests deeper than `limit` (brackets in strings
    do not count). Only input with more brackets than that is scanned."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    depth = 0
    for token in _JSON_TOKEN.finditer(data):
        bracket = token.group()
        if bracket in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif bracket in (b"]", b"}"):
            depth -= 1
    return False


def _decode(data: bytes, cls: type[T], fmt: Format) -> T:
    if fmt == "json":
        try:  # the common case, fast: JSON decoded from the bytes as they are
            decoded: T = _json_decoder(cast(Any, cls)).decode(data)
            return decoded
        except msgspec.DecodeError:
            pass  # say what is wrong, below
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
        raise field_error(e, cls=cls, tag=_tag(text, fmt)) from None
    except msgspec.DecodeError as e:
        raise ValidationError("document", f"is not valid {fmt.upper()}: {e}") from None


@lru_cache(maxsize=32)
def _json_decoder(cls: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(cls)


def _tag(text: str, fmt: Format) -> Any:
    """The record's `type`, to explain an error in a tagged union's member."""
    try:
        raw = msgspec.toml.decode(text) if fmt == "toml" else msgspec.json.decode(text)
    except msgspec.DecodeError:
        return None
    return raw.get("type") if isinstance(raw, dict) else None


def sniff(data: bytes, name: str = "") -> Format:
    """TOML for .toml files, JSON for .json, else by the first character."""
    if name.endswith(".toml"):
        return "toml"
    if name.endswith((".json", ".jsonl")):
        return "json"
    return "json" if data.lstrip()[:1] in (b"{", b"[") else "toml"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
