"""The error hierarchy: every khronika error derives from KhronikaError."""

from __future__ import annotations


class KhronikaError(Exception):
    """Root of every error khronika raises on purpose."""


class ValidationError(KhronikaError):
    """Input that breaks the schema or a domain rule, naming the field."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}" if field else problem)


class EdtfError(ValidationError):
    """A date that is not valid EDTF (levels 0 and 1) or is impossible."""


class NotFoundError(KhronikaError):
    """A reference to a fact, entity or source that is not in the store."""

    def __init__(
        self,
        what: str,
        ident: str,
        suggestions: list[str] | None = None,
        field: str = "",
        note: str = "",
    ) -> None:
        self.what = what
        self.ident = ident
        self.suggestions = suggestions or []
        self.field = field
        where = f"{field}: " if field else ""
        message = f"{where}unknown {what} '{ident}'"
        if self.suggestions:
            message += (
                "; did you mean " + ", ".join(f"'{s}'" for s in self.suggestions) + "?"
            )
        if note:
            message += f" ({note})"
        super().__init__(message)


class DuplicateError(KhronikaError):
    """An id that is already taken by a different record."""

    HOW = {
        "fact": "to change the fact, use `khronika correct {slug} --set …`",
        "entity": "to change the entity, use `khronika entity rename`, "
        "`entity alias` or `entity merge`",
        "source": "to change the source, use `khronika source correct {slug} "
        "--set FIELD=VALUE --reason …`",
    }

    @classmethod
    def taken(
        cls, kind: str, slug: str, differs: list[str] | None = None
    ) -> DuplicateError:
        """`slug` is taken; say which fields differ, and how to change it."""
        what = f"{kind} '{slug}' exists already"
        if differs:
            what += " with other values in " + ", ".join(differs)
        how = cls.HOW.get(kind, "choose another id").format(slug=slug)
        return cls(f"{what}; {how}")


class ConflictError(KhronikaError):
    """Someone else changed the stream first; carries the current version."""

    def __init__(self, ident: str, current_version: int) -> None:
        self.ident = ident
        self.current_version = current_version
        super().__init__(
            f"'{ident}' was changed by someone else (now at version "
            f"{current_version}); reload it and try again"
        )


class StoreError(KhronikaError):
    """The store cannot be opened or used as asked."""
