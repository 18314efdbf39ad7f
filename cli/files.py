"""Reading a file a user names: at most MAX_DOCUMENT_BYTES, errors as usage."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from khronika.domain.parse import MAX_DOCUMENT_BYTES


def read_limited(file: str, hint: str) -> bytes:
    """The file's bytes (- is stdin), refused once they grow past the limit;
    `hint` names the argument or option in the error."""
    try:
        if file == "-":
            data = sys.stdin.buffer.read(MAX_DOCUMENT_BYTES + 1)
        else:
            with Path(file).open("rb") as f:
                data = f.read(MAX_DOCUMENT_BYTES + 1)
    except OSError as e:
        raise click.BadParameter(
            f"cannot read {file}: {e.strerror}", param_hint=hint
        ) from None
    if len(data) > MAX_DOCUMENT_BYTES:
        raise click.BadParameter(
            f"{file} is larger than {MAX_DOCUMENT_BYTES:,} bytes, the most a "
            "document may take",
            param_hint=hint,
        )
    return data
