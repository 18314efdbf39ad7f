"""Resolving what a user types to a record: slugs, names, aliases, "did you mean".

One home for the rule, used by the write side (references, clashes) and the
read side (the views, the CLI). Names compare case-insensitively (casefold, so
Cyrillic too). A slug, name or alias names exactly one entity: a new name that
another entity already answers to is refused, and a store written before that
rule that holds such a clash makes the lookup an error naming every candidate.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from khronika.domain.errors import KhronikaError, NotFoundError, ValidationError

Names = dict[str, list[str]]  # casefolded slug, name or alias -> the slugs it names


def index(entries: Iterable[tuple[str, Iterable[str]]]) -> Names:
    """(slug, its names) pairs as a lookup; the slug itself is a name too."""
    names: Names = {}
    for slug, others in entries:
        for name in dict.fromkeys([slug, *others]):
            owners = names.setdefault(name.casefold(), [])
            if slug not in owners:
                owners.append(slug)
    return names


def resolve(ident: str, names: Names, what: str = "entity") -> str:
    """The one slug `ident` names; NotFoundError with suggestions, or an error
    naming every candidate where an older store lets a name mean several."""
    owners = names.get(ident.casefold(), [])
    if len(owners) == 1:
        return owners[0]
    if ident.casefold() in owners:  # a slug is the one sure name
        return ident.casefold()
    if owners:
        listed = ", ".join(f"'{o}'" for o in owners)
        raise KhronikaError(
            f"'{ident}' names more than one {what}: {listed}; use the slug"
        )
    raise NotFoundError(what, ident, suggest(ident, names))


def suggest(query: str, names: Mapping[str, list[str]] | Iterable[str]) -> list[str]:
    """Up to three slugs a mistyped `query` may have meant."""
    lookup = names if isinstance(names, Mapping) else {n: [n] for n in names}
    wanted = query.casefold()
    within = sorted((n for n in lookup if wanted in n), key=len)[:3]
    close = difflib.get_close_matches(wanted, list(lookup), n=5, cutoff=0.6)
    slugs = [slug for n in [*within, *close] for slug in lookup[n]]
    return list(dict.fromkeys(slugs))[:3]


def check_free(slug: str, new: Iterable[str], names: Names, field: str) -> None:
    """Refuse a name for `slug` that another entity already answers to."""
    for name in new:
        others = [o for o in names.get(name.casefold(), []) if o != slug]
        if others:
            raise ValidationError(
                field,
                f"'{name}' already names '{others[0]}' (as its slug, name or "
                "alias); a slug, name or alias must name one entity",
            )
