"""What text khronika stores: the characters refused, line rules and limits.

Stored text reaches terminals, browsers and signed proofs, so it is checked
where it comes in. No text field may hold a control character (C0, DEL or
C1), a bidi embedding, override or isolate (U+202A-U+202E, U+2066-U+2069),
or a lone surrogate (which has no UTF-8 encoding). One-line fields also
refuse tab, newline and the Unicode line and paragraph separators; only
multi-line fields (a summary, a note) may hold newlines and tabs. Required
text must hold something other than whitespace.

The same rules are written twice: as regular expressions for the msgspec
schemas of documents (`pattern`, anchored with `\\Z` so that a trailing
newline cannot slip past `$`), and as `check_line` and `check_text` for
values that arrive as command options.
"""

from __future__ import annotations

import re

from khronika.domain.errors import ValidationError

# Regular-expression ranges, written as escapes so that the patterns (which
# msgspec quotes in its errors) hold no raw control characters themselves.
# Refused in every text field:
CONTROL = r"\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff"
# Refused in one-line fields as well:
BREAKS = r"\t\n\u2028\u2029"

ONE_LINE = rf"^[^{CONTROL}{BREAKS}]*\Z"
ONE_LINE_REQUIRED = rf"^(?!\s*\Z)[^{CONTROL}{BREAKS}]*\Z"
MULTI_LINE_REQUIRED = rf"^(?!\s*\Z)[^{CONTROL}]*\Z"

ONE_LINE_RULE = "one line of text without control characters or bidi overrides"
MULTI_LINE_RULE = "text (newlines and tabs allowed) without other control "
MULTI_LINE_RULE += "characters or bidi overrides"

REASON_MAX = 1000  # --reason, --unchecked
NAME_MAX = 300  # names, titles, aliases
USER_MAX = 100  # --as, $KHRONIKA_USER

_REFUSED = re.compile(f"[{CONTROL}]")
_BREAK = re.compile(f"[{BREAKS}]")


def check_line(
    field: str, value: str, max_length: int, *, required: bool = True
) -> str:
    """`value` if it is one line of acceptable text, else ValidationError."""
    _check(field, value, max_length, required)
    found = _BREAK.search(value)
    if found is not None:
        raise ValidationError(
            field,
            f"must be one line, but holds {_name(found.group())} at position "
            f"{found.start() + 1}",
        )
    return value


def check_text(field: str, value: str, max_length: int) -> str:
    """`value` if it is required multi-line text that is acceptable."""
    _check(field, value, max_length, required=True)
    return value


def _check(field: str, value: str, max_length: int, required: bool) -> None:
    if required and not value.strip():
        raise ValidationError(field, "is blank; write some text")
    if len(value) > max_length:
        raise ValidationError(
            field, f"is {len(value)} characters long; at most {max_length} allowed"
        )
    found = _REFUSED.search(value)
    if found is not None:
        raise ValidationError(
            field,
            f"holds {_name(found.group())} at position {found.start() + 1}; "
            "control characters and bidi overrides are not allowed",
        )


def _name(char: str) -> str:
    names = {"\t": "a tab", "\n": "a newline", "\r": "a carriage return"}
    return names.get(char, f"U+{ord(char):04X}")
