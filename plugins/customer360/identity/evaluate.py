"""Pairwise precision and recall of the resolved identities against a ground truth.

The truth file (Parquet; from the data generator: ``ground_truth/source_records.parquet``) has
``source_channel, source_record_id, person_id``. Records are joined to ``identity.customer_source_xref``
(through ``intermediate.int_contact_record_members`` when it exists: identity resolves identity records, and a
contact signature stands for many source records); for
every (customer, person) cell with ``n`` records there are ``n * (n - 1) / 2`` correctly linked pairs. Pairs
are counted with this formula per cell, cluster and person, never enumerated, so evaluation is linear.

* precision = correctly linked pairs / pairs linked by the resolution
* recall = correctly linked pairs / pairs of records of the same person
* false merges = customers holding records of more than one person
* missed merges = persons whose records are spread over more than one customer
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from customer360.settings import Settings
from customer360.sql_strings import sql_string

TRUTH_COLUMNS = ("source_channel", "source_record_id", "person_id")

# The ground truth names channels as the landing contract does; the dbt layer uses short names. Both sides
# are mapped to the contract names before joining.
CHANNEL_ALIASES = {
    "crm": "crm_contacts",
    "web": "web_orders",
    "pos": "pos_transactions",
    "tickets": "support_tickets",
    "marketing": "marketing_events",
}

METRICS_SQL = """
with
joined as (
    select x.customer_id, t.person_id
    from predicted as x
    join truth as t on t.source_channel = x.source_channel and t.source_record_id = x.source_record_id
),
cells as (select customer_id, person_id, count(*)::hugeint as n from joined group by all),
clusters as (select customer_id, sum(n) as n, count(*) as persons from cells group by all),
persons as (select person_id, sum(n) as n, count(*) as customers from cells group by all)
select
    (select count(*) from truth) as truth_records,
    (select count(*) from predicted) as predicted_records,
    (select coalesce(sum(n), 0) from cells)::bigint as evaluated_records,
    (select coalesce(sum(n * (n - 1) / 2), 0) from cells)::bigint as true_positive_pairs,
    (select coalesce(sum(n * (n - 1) / 2), 0) from clusters)::bigint as predicted_pairs,
    (select coalesce(sum(n * (n - 1) / 2), 0) from persons)::bigint as true_pairs,
    (select count(*) from clusters) as customers,
    (select count(*) from persons) as persons,
    (select count(*) from clusters where persons > 1) as false_merges,
    (select count(*) from persons where customers > 1) as missed_merges
"""


@dataclass
class EvaluationResult:
    truth_records: int
    predicted_records: int
    evaluated_records: int  # records in both the truth and the resolution
    true_positive_pairs: int
    predicted_pairs: int
    true_pairs: int
    customers: int
    persons: int
    false_merges: int
    missed_merges: int

    @property
    def precision(self) -> float:
        return self.true_positive_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.true_positive_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "precision": self.precision, "recall": self.recall, "f1": self.f1}

    def summary(self) -> str:
        return (
            f"pairwise precision {self.precision:.4f}, recall {self.recall:.4f}, F1 {self.f1:.4f} over "
            f"{self.evaluated_records:,} records ({self.customers:,} customers, {self.persons:,} persons); "
            f"false merges {self.false_merges:,}, missed merges {self.missed_merges:,}"
        )


def pairwise_metrics(con: object, predicted: str, truth: str) -> EvaluationResult:
    """Metrics for two relations (table names or subqueries) with ``source_channel, source_record_id`` and
    ``customer_id`` (predicted) / ``person_id`` (truth)."""
    when = " ".join(f"when '{alias}' then '{name}'" for alias, name in CHANNEL_ALIASES.items())
    channel = f"case source_channel {when} else source_channel end"
    sql = (
        f"with predicted as (select * replace ({channel} as source_channel) from {predicted}), "
        f"truth as (select * replace ({channel} as source_channel) from {truth}) "
        + METRICS_SQL.replace("with\n", ",\n", 1)
    )
    names = [field for field in EvaluationResult.__dataclass_fields__]
    row = con.execute(sql).fetchall()[0]
    return EvaluationResult(**{name: int(value or 0) for name, value in zip(names, row, strict=True)})


def evaluate_identity(settings: Settings, truth_path: Path) -> EvaluationResult:
    """Compare ``identity.customer_source_xref`` in the warehouse with a ground-truth Parquet file."""
    import duckdb

    from customer360.warehouse import connect

    truth_path = Path(truth_path)
    if not truth_path.exists():
        raise FileNotFoundError(
            f"ground truth {truth_path} not found; generate data with `customer360 generate --truth DIR` "
            "and pass DIR/source_records.parquet"
        )
    with connect(settings, read_only=True) as con:
        con.execute("set enable_progress_bar = false")
        try:
            columns = {
                row[0]
                for row in con.execute("describe select * from read_parquet(?)", [str(truth_path)]).fetchall()
            }
        except duckdb.Error as exc:
            raise ValueError(f"cannot read ground truth {truth_path} as Parquet: {exc}") from exc
        missing = [c for c in TRUTH_COLUMNS if c not in columns]
        if missing:
            raise ValueError(
                f"ground truth {truth_path} lacks column(s) {missing}; expected {list(TRUTH_COLUMNS)}"
            )
        con.execute(
            "create temp view identity_truth as select source_channel::varchar as source_channel, "
            "source_record_id::varchar as source_record_id, person_id::varchar as person_id "
            f"from read_parquet({sql_string(truth_path)})"
        )
        try:
            return pairwise_metrics(con, _predicted_relation(con), "identity_truth")
        except duckdb.CatalogException as exc:
            raise LookupError(
                "identity.customer_source_xref does not exist: run identity resolution first "
                "(customer360 identity resolve, or the resolve_identity task)"
            ) from exc


def _predicted_relation(con: object) -> str:
    """The customer of every source record: the identity output, expanded from identity records to source
    records through the members map when the dbt project has built it."""
    from customer360.identity.records import MEMBERS_TABLE

    schema, table = MEMBERS_TABLE.split(".")
    found = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()[0][0]
    if not found:
        return "identity.customer_source_xref"
    con.execute(
        "create or replace temp view identity_predicted as "
        "select m.source_channel, m.source_record_id, x.customer_id "
        f"from {MEMBERS_TABLE} as m join identity.customer_source_xref as x "
        "on x.source_channel = m.source_channel and x.source_record_id = m.identity_record_id"
    )
    return "identity_predicted"
