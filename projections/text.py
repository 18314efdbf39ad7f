"""Text as search compares it: folded, in words.

`fold` drops case and diacritics alike in Latin, Cyrillic and Kazakh
letters ("Ә" and "а", "Ё" and "е", "é" and "e"); `words` splits folded text
into runs of letters and digits. The views keep each record's searchable
text already folded and in words (`search` columns), so SQLite's FTS5 and
PostgreSQL's full-text search both see the same words, and neither needs a
locale, an `unaccent` extension or a stemmer.
"""

from __future__ import annotations

import re
import unicodedata

LONGEST = 200  # characters of a word kept for search (PostgreSQL takes 2047 bytes)
# Kazakh letters beside the Russian ones they are read as
KAZAKH = str.maketrans("әғқңөұүһі", "агкноуухи")
WORD = re.compile(r"[^\W_]+")


class _Folding(dict[int, int | None]):
    """What str.translate makes of each character of decomposed text: a
    combining mark dropped, a Kazakh letter its Russian one, any other
    itself; worked out once a character, on its first use."""

    def __missing__(self, code: int) -> int | None:
        folded = None if unicodedata.combining(chr(code)) else KAZAKH.get(code, code)
        self[code] = folded
        return folded


_FOLDING = _Folding()


def fold(text: str) -> str:
    """'Ұлттық Серебрякова Élan' as 'улттык серебрякова elan'."""
    if text.isascii():  # no marks to drop, no Kazakh letters: its case only
        return text.lower()
    return unicodedata.normalize("NFKD", text.casefold()).translate(_FOLDING)


def words(text: str) -> list[str]:
    """The folded words of `text`."""
    return WORD.findall(fold(text))


def searchable(*texts: str | None) -> str:
    """The words of `texts`, folded, one space apart: a `search` column. A
    word is kept to its first LONGEST characters: a search matches the start
    of a word, and a lexeme has a size limit in PostgreSQL."""
    return " ".join(w[:LONGEST] for t in texts if t for w in words(t))
