"""Resolving what a user types to a record: slugs, names, aliases, "did you mean".

One home for the rule, used by the write side (references, clashes) and the
read side (the views, the CLI). Names compare case-insensitively (casefold, so
Cyrillic too). A slug, name or alias names exactly one entity: a new name that
another entity already answers to is refused, and a store written before that
rule that holds such a clash makes the lookup an error naming every candidate.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping

from khronika.domain.errors import KhronikaError, NotFoundError, ValidationError

Names = dict[str, list[str]]  # key of a slug, name or alias -> the slugs it names

# Characters that show nothing: stripped from names (with the soft hyphen).
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u180e\u200b\u200c\u200d\u2060\ufeff"))
_SPACES = re.compile(r"\s+")
# Letters that look like Latin ones, for `skeleton`: a small table in the
# spirit of Unicode TR39's confusables (Cyrillic, Greek and Latin lookalikes;
# fullwidth forms are folded by NFKC first).
_LOOKALIKE = str.maketrans(
    "АВЕЅІЈКМНОРСТУХҮҺԚԜаеѕіјһорсуххүԁԛԝӏΑΒΕΖΗΙΚΜΝΟΡΤΥΧοινı",
    "ABESIJKMHOPCTYXYHQWaesijhopcyxxydqwlABEZHIKMNOPTYXoivi",
)


def normal(name: str) -> str:
    """A name as stored: NFC, without invisible characters, its runs of white
    space (a no-break or ideographic space too) one space, and trimmed."""
    text = unicodedata.normalize("NFC", name).translate(_INVISIBLE)
    return _SPACES.sub(" ", text).strip()


def key(name: str) -> str:
    """What two names that are the same name share: `normal`, casefolded."""
    return normal(name).casefold()


def skeleton(name: str) -> str:
    """What two names that look the same share (after TR39's skeletons):
    fullwidth forms folded, Cyrillic and Greek lookalikes read as Latin."""
    text = unicodedata.normalize("NFKC", normal(name)).translate(_LOOKALIKE)
    return unicodedata.normalize("NFD", text).casefold()


def index(entries: Iterable[tuple[str, Iterable[str]]]) -> Names:
    """(slug, its names) pairs as a lookup; the slug itself is a name too."""
    names: Names = {}
    for slug, others in entries:
        for name in dict.fromkeys([slug, *others]):
            owners = names.setdefault(key(name), [])
            if slug not in owners:
                owners.append(slug)
    return names


def resolve(ident: str, names: Names, what: str = "entity") -> str:
    """The one slug `ident` names; NotFoundError with suggestions, or an error
    naming every candidate where an older store lets a name mean several."""
    owners = names.get(key(ident), [])
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
        others = [o for o in names.get(key(name), []) if o != slug]
        if others:
            raise ValidationError(
                field,
                f"'{name}' already names '{others[0]}' (as its slug, name or "
                "alias); a slug, name or alias must name one entity",
            )


Looks = dict[str, list[tuple[str, str]]]  # skeleton -> (slug, name) pairs


def looks(
    entries: Iterable[tuple[str, Iterable[str]]], into: Looks | None = None
) -> Looks:
    """(slug, its names) pairs by the skeleton of each name, added `into`."""
    found: Looks = {} if into is None else into
    for slug, names in entries:
        for name in names:
            pairs = found.setdefault(skeleton(name), [])
            if (slug, name) not in pairs:
                pairs.append((slug, name))
    return found


def lookalikes(
    slug: str, new: Iterable[str], looks: Looks, current: Callable[[str], list[str]]
) -> list[str]:
    """Warnings for each of `new` (names for `slug`) that looks like, but is
    not, a name of another entity: one of `looks` (by skeleton) that is
    still among that entity's `current` names."""
    found = []
    for mine in dict.fromkeys(new):
        for other, name in looks.get(skeleton(mine), []):
            if other != slug and key(mine) != key(name) and name in current(other):
                found.append(
                    f"'{mine}' looks like '{name}', a name of '{other}' (lookalike "
                    "letters: Cyrillic or Greek for Latin, fullwidth forms); if "
                    "they are the same, record it as an alias instead: "
                    f"`khronika entity alias {other} '{mine}'`"
                )
    return found
