"""docs/analyst-guide.md: every ```sql example runs on the published fixture snapshot and returns rows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from customer360.analyst import connect_snapshot
from customer360.settings import Settings
from tests.support import published_snapshot

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "analyst-guide.md"
SQL_BLOCK = re.compile(r"```sql\n(.*?)```", re.S)


EXAMPLES = SQL_BLOCK.findall(GUIDE.read_text(encoding="utf-8"))


def test_guide_has_the_six_promised_examples() -> None:
    """GIVEN the analyst guide WHEN its sql blocks are collected THEN there are six (top CLV, segment
    movement, churn with complaints, FCR by channel, hidden gems, next-best actions)."""
    assert len(EXAMPLES) == 6


@pytest.fixture(scope="module")
def snapshot_connection(tmp_path_factory):
    settings = Settings(home=tmp_path_factory.mktemp("guide"))
    published_snapshot.publish_fixture_snapshot(settings)
    con = connect_snapshot(settings)
    yield con
    con.close()


@pytest.mark.parametrize("query", EXAMPLES, ids=[f"example-{i + 1}" for i in range(len(EXAMPLES))])
def test_guide_example_runs_on_the_snapshot(snapshot_connection, query: str) -> None:
    """GIVEN one sql example of the guide WHEN it runs read-only on the fixture snapshot THEN it succeeds and
    returns at least one row."""
    rows = snapshot_connection.sql(query).fetchall()
    assert rows, f"the example returned no rows:\n{query}"
