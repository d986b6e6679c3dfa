"""Hand-written identity input for the identity unit tests: contact records as the stage reads them
(``intermediate.int_contact_records_unioned``), one dict per record, loaded in place of the dbt build."""

from __future__ import annotations

import pyarrow as pa

from customer360.settings import Settings
from customer360.warehouse import connect
from customer360_dev.identity_synthetic import write_input_table

COLUMNS = (
    "source_channel", "source_record_id", "observed_at", "account_id", "loyalty_id", "email", "phone",
    "first_name", "last_name", "full_name", "birth_date", "street", "postal_code", "city", "country_code",
)  # fmt: skip


def contact_record(channel: str, record_id: str, day: int = 1, **fields: object) -> dict[str, object]:
    """A record of ``channel`` observed on February ``day`` at 10:00; columns not in ``fields`` are null."""
    row = {column: None for column in COLUMNS}
    row.update(source_channel=channel, source_record_id=record_id, observed_at=f"2026-02-{day:02d} 10:00:00")
    row.update(fields)
    return row


def load_records(settings: Settings, rows: list[dict[str, object]]) -> None:
    """Replace the identity input of ``settings``' warehouse with ``rows``."""
    table = pa.table({c: pa.array([r[c] for r in rows], pa.string()) for c in COLUMNS})
    table = table.set_column(2, "observed_at", table.column("observed_at").cast(pa.timestamp("us")))
    table = table.set_column(10, "birth_date", table.column("birth_date").cast(pa.date32()))
    with connect(settings) as con:
        write_input_table(con, table)
