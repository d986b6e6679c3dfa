"""Text as a SQL string literal (single quotes, inner quotes doubled).

For what a statement must carry inline because a bound parameter cannot go there: paths in ``ATTACH``,
``COPY`` and ``read_*`` table functions, names and constants from code, settings or the contract, and SQL
that Great Expectations runs as written. Data values are bound as parameters, never quoted in.
"""

from __future__ import annotations


def sql_string(value: object) -> str:
    """``value`` as a SQL string literal: ``O'Brien`` -> ``'O''Brien'``."""
    text = str(value).replace("'", "''")
    return f"'{text}'"
