"""Values the help examples share, so that every example agrees with the dataset."""

from __future__ import annotations

# The bundled dataset's source, and the slug the examples add it under: a slug
# of their own, so that `khronika demo` still loads into the example's store.
TITLE = "Separatism prosecutions in Kazakhstan and pro-Russian sentiment (analysis)"
SLUG = "my-worldcrunch-analysis"
NOTE = (
    "Resident of Petropavlovsk; convicted of separatist activity in 2023 over a "
    "Chatroulette remark."
)
