"""Views edited behind khronika's back: `verify --views` and `projections status`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result

from khronika.projections.views import NAME, open_views
from khronika.store.location import environment, resolve

Run = Callable[..., Result]


def edit(store_path: str, sql: str, params: dict[str, Any] | None = None) -> None:
    views = open_views(environment(resolve(store_path)))
    sql = sql.replace("TRACKING", views.tracking_table)
    with views.datastore.transaction(commit=True) as c:
        views._enter(c)
        c.execute(views._q(sql), params or {})


def test_untouched_views_verify(demo: Run) -> None:
    result = demo("verify", "--views")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("verified 117 events and the views")


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("UPDATE view_facts SET summary = 'Acquitted.' "
         "WHERE fact = 'serebryakova-verdict-2023'",
         "view_facts: row serebryakova-verdict-2023 v1 differs from a replay of "
         "the log in summary ('Acquitted.', replayed 'Tatyana Serebryakova"),
        ("UPDATE view_sentences SET term_months = 6 "
         "WHERE fact = 'serebryakova-verdict-2023'",
         "view_sentences: row serebryakova-verdict-2023 v1 differs from a replay "
         "of the log in term_months (6, replayed 36)"),
        ("DELETE FROM view_roles WHERE fact = 'astakhov-verdict-2024'",
         "view_roles: row "),
    ],
)  # fmt: skip
def test_an_edited_view_row_is_named(
    demo: Run, store_path: str, sql: str, message: str
) -> None:
    assert demo("verify").exit_code == 0  # the log itself is intact
    edit(store_path, sql)
    result = demo("verify", "--views")
    assert result.exit_code == 1
    assert "Error: the views do not match the log: " + message in result.output


def test_a_position_moved_back_duplicates_rows_and_verify_views_sees_it(
    demo: Run, store_path: str
) -> None:
    edit(store_path, f"UPDATE TRACKING SET notification_id = 1 "
                     f"WHERE application_name = '{NAME}'")  # fmt: skip
    demo("timeline")  # a reader catches up again from position 1
    result = demo("verify", "--views")
    assert result.exit_code == 1
    assert "is not in a replay of the log" in result.output or (
        "where a replay has" in result.output
    )


def test_a_position_moved_past_the_log_is_noticed(demo: Run, store_path: str) -> None:
    edit(store_path, f"UPDATE TRACKING SET notification_id = 100000 "
                     f"WHERE application_name = '{NAME}'")  # fmt: skip
    for command in (["projections", "status"], ["verify"]):
        result = demo(*command)
        assert result.exit_code == 1, command
        assert (
            "the views' tracking position (100000) is past the last event in the "
            "log (117)"
        ) in result.output


@pytest.mark.sqlite_only  # PostgreSQL's bigint column keeps only numbers
def test_a_position_that_is_not_a_number_is_one_line(
    demo: Run, store_path: str
) -> None:
    edit(store_path, f"UPDATE TRACKING SET notification_id = 'abc' "
                     f"WHERE application_name = '{NAME}'")  # fmt: skip
    for command in (["projections", "status"], ["verify"], ["timeline"]):
        result = demo(*command)
        assert result.exit_code == 1, command
        assert result.output == (
            "Error: the views' tracking position ('abc') is not a number: it was "
            "changed behind khronika's back; run `khronika projections rebuild`\n"
        )
    assert demo("projections", "rebuild").exit_code == 0
    assert demo("verify").exit_code == 0
