"""Reading what was stored under looser rules than today's.

The document schemas tighten over time (ids anchored with \\Z, control
characters refused, blank text refused). Input must meet today's rules, but
an event stored by an earlier version must stay readable, or one old record
would make the whole store unreadable. So stored data that fails today's
constraints is read again through a twin of its type without them: the same
fields, types, defaults and tags, with every `msgspec.Meta` constraint
dropped; and the result is rebuilt as the real type (a Struct's constructor
checks nothing). Types are still checked: a string where a number belongs
is an error either way.
"""

from __future__ import annotations

import types
from functools import cache
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

import msgspec

T = TypeVar("T")

_REAL: dict[type, type] = {}  # twin -> the real Struct it mirrors


def decode_json(data: bytes, cls: type[T]) -> T:
    """Stored JSON `data` as a `cls`; today's constraints are not enforced."""
    key: Any = cls  # a type is hashable; mypy's Hashable check says otherwise
    try:  # the fast path, for everything that meets today's rules
        return _decoder(key, loose=False).decode(data)  # type: ignore[no-any-return]
    except msgspec.ValidationError:
        return _to_real(_decoder(key, loose=True).decode(data))  # type: ignore[no-any-return]


def convert(raw: Any, cls: type[T]) -> T:
    """Stored builtins `raw` as a `cls`; today's constraints are not enforced."""
    try:
        return msgspec.convert(raw, cls)
    except msgspec.ValidationError:
        return _to_real(msgspec.convert(raw, _loose(cls)))  # type: ignore[no-any-return]


@cache
def _decoder(cls: Any, *, loose: bool) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(_loose(cls) if loose else cls)


def _loose(tp: Any) -> Any:
    """The type `tp` with Meta constraints dropped, Structs replaced by twins."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _loose(get_args(tp)[0])
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return _twin(tp)
    if origin in (Union, types.UnionType):
        return Union[tuple(_loose(a) for a in get_args(tp))]  # noqa: UP007
    if origin is list:
        return list[_loose(get_args(tp)[0])]  # type: ignore[misc]
    if origin is dict:
        key, value = get_args(tp)
        return dict[_loose(key), _loose(value)]  # type: ignore[misc]
    return tp


@cache
def _twin(cls: type[msgspec.Struct]) -> type[msgspec.Struct]:
    config = cls.__struct_config__
    fields: list[Any] = []
    for f in msgspec.structs.fields(cls):
        loose = _loose(f.type)
        if f.default is not msgspec.NODEFAULT:
            fields.append((f.name, loose, f.default))
        elif f.default_factory is not msgspec.NODEFAULT:
            fields.append(
                (f.name, loose, msgspec.field(default_factory=f.default_factory))
            )
        else:
            fields.append((f.name, loose))
    twin = msgspec.defstruct(
        cls.__name__,
        fields,
        kw_only=True,
        frozen=config.frozen,
        forbid_unknown_fields=config.forbid_unknown_fields,
        tag=config.tag,
        tag_field=config.tag_field,
    )
    _REAL[twin] = cls
    return twin


def _to_real(value: Any) -> Any:
    real = _REAL.get(type(value))
    if real is not None:
        return real(**{name: _to_real(getattr(value, name))
                       for name in value.__struct_fields__})  # fmt: skip
    if isinstance(value, list):
        return [_to_real(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_real(v) for k, v in value.items()}
    return value
