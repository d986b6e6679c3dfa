"""Read a transactions CSV (any layout: the caller names the columns) into purchase days for the CLV models.

The file is read by DuckDB as text (every column VARCHAR), checked, and parsed in SQL:

- the customer, date and amount columns must exist (the error names the file, the missing column and the
  columns the file has);
- every row needs a customer id, a date DuckDB can cast (``YYYY-MM-DD`` or an ISO timestamp; the calendar
  date as written is used, a time or UTC offset is ignored) and a decimal amount with a ``.`` decimal point;
  the first bad value is reported with its line and column, plus the number of other bad rows;
- rows are collapsed to purchase days (customer, date): ``order_count`` rows, amounts summed; a day whose
  amounts sum to zero or less (a refund, a cancelled order) is not a purchase day.

The result is the temporary view ``PURCHASE_DAYS_VIEW`` with the columns ``summary.PURCHASE_DAY_COLUMNS``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

PURCHASE_DAYS_VIEW = "clv_purchase_days"
_PARSED_TABLE = "clv_transactions_parsed"


class TransactionsFileError(ValueError):
    """A transactions file that cannot be used as given; the message says where and what to change."""


def _read_text_table(con: duckdb.DuckDBPyConnection, path: Path) -> object:
    import duckdb

    try:
        return con.sql(
            "select * from read_csv($path, all_varchar = true, header = true)", params={"path": str(path)}
        ).to_arrow_table()
    except duckdb.Error as exc:
        raise TransactionsFileError(f"{path}: cannot be read as CSV: {exc}") from exc


def _record_line(con: duckdb.DuckDBPyConnection, path: Path, record: int) -> int:
    """1-based file line where data record ``record`` (1-based) starts, counting quoted line breaks.

    Only called on the error path, so reading the file up to that record with the csv module is fine.
    """
    sniffed = con.execute("select Delimiter, Quote, SkipRows from sniff_csv(?)", [str(path)]).fetchall()
    delimiter, quote, skip_rows = sniffed[0] if sniffed else (",", '"', 0)
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        for _ in range(int(skip_rows)):
            handle.readline()
        reader = csv.reader(handle, delimiter=delimiter or ",", quotechar=quote or '"')
        previous_end = 0
        for index, _row in enumerate(reader):  # index 0 is the header
            if index == record:
                return int(skip_rows) + previous_end + 1
            previous_end = reader.line_num
    return int(skip_rows) + record + 1


def load_transactions(
    con: duckdb.DuckDBPyConnection, path: Path, customer_col: str, date_col: str, amount_col: str
) -> int:
    """Load ``path`` into the temporary view PURCHASE_DAYS_VIEW; returns the number of transaction rows."""
    import numpy as np
    import pyarrow as pa

    path = Path(path)
    if not path.is_file():
        raise TransactionsFileError(f"{path}: no such file: pass the path of a transactions CSV")
    table = _read_text_table(con, path)
    columns = list(table.column_names)
    for option, column in (
        ("--customer-col", customer_col),
        ("--date-col", date_col),
        ("--amount-col", amount_col),
    ):
        if column not in columns:
            raise TransactionsFileError(
                f"{path}: no column {column!r} (the file has: {', '.join(columns)}); "
                f"name the right one with {option}"
            )
    batch = pa.table(
        {
            "_record": pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64)),
            "customer_text": table.column(customer_col),
            "date_text": table.column(date_col),
            "amount_text": table.column(amount_col),
        }
    )
    con.register("clv_transactions_text", batch)
    try:
        con.execute(
            f"""
            create or replace temp table {_PARSED_TABLE} as
            select
                _record,
                customer_text,
                date_text,
                amount_text,
                nullif(trim(customer_text), '') as customer_id,
                coalesce(
                    try_cast(trim(date_text) as date),
                    cast(try_cast(trim(date_text) as timestamp) as date)
                ) as purchase_date,
                try_cast(trim(amount_text) as double) as amount
            from clv_transactions_text
            """
        )
    finally:
        con.unregister("clv_transactions_text")
    _raise_on_bad_values(con, path, customer_col, date_col, amount_col)
    con.execute(
        f"""
        create or replace temp view {PURCHASE_DAYS_VIEW} as
        select
            customer_id,
            purchase_date,
            count(*) as order_count,
            sum(amount) as net_amount,
            cast(null as double) as margin_amount
        from {_PARSED_TABLE}
        group by customer_id, purchase_date
        having sum(amount) > 0
        """
    )
    return table.num_rows


def _raise_on_bad_values(
    con: duckdb.DuckDBPyConnection, path: Path, customer_col: str, date_col: str, amount_col: str
) -> None:
    bad = con.execute(
        f"""
        select
            _record,
            case
                when customer_id is null then 'customer'
                when purchase_date is null then 'date'
                else 'amount'
            end as problem,
            customer_text,
            date_text,
            amount_text,
            count(*) over () as n_bad
        from {_PARSED_TABLE}
        where customer_id is null or purchase_date is null or amount is null or not isfinite(amount)
        order by _record
        limit 1
        """
    ).fetchall()
    if not bad:
        return
    record, problem, customer_text, date_text, amount_text, n_bad = bad[0]
    line = _record_line(con, path, int(record))
    others = f" ({n_bad - 1} more row(s) have problems)" if n_bad > 1 else ""
    if problem == "customer":
        detail = f"column {customer_col!r}: the customer id is empty"
    elif problem == "date":
        detail = (
            f"column {date_col!r}: {date_text!r} is not a date; use YYYY-MM-DD or an ISO timestamp "
            "(YYYY-MM-DD HH:MM:SS)"
        )
    else:
        detail = (
            f"column {amount_col!r}: {amount_text!r} is not a number; use digits with a '.' decimal point "
            "and no currency sign or thousands separator"
        )
    raise TransactionsFileError(f"{path}, line {line}, {detail}{others}")
