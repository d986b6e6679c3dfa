"""The baseline row of every set: Splink 5 with its out-of-the-box comparisons on the same records.

The records are the identity stage's input as the pipeline staged it (``customer360.identity.records``:
one row per identity record, its latest version), so the baseline sees exactly what the pipeline's
identity sees, cleansed the same way (phones in E.164, e-mails trimmed). Id columns (account and loyalty
ids) are left out: the baseline links on person attributes only, as Splink's tutorials do.

The model: ``NameComparison`` on first name and surname, ``DateOfBirthComparison``, ``EmailComparison``,
``LevenshteinAtThresholds`` on postcode (``PostcodeComparison`` parses UK postcodes only), ``ExactMatch``
on phone and city and ``JaroWinklerAtThresholds`` on street; only the columns a set fills take part.
Candidate pairs come from blocking on name pairs, on name and birth date or postcode, and on postcode,
birth date, street, e-mail or phone alone. Parameters as Splink's documentation trains them: the prior from
deterministic rules (recall 0.7), u by random sampling (seeded), m by expectation maximisation in two
sessions (blocked on the names, then on e-mail, or birth date when a set has no e-mail; a session Splink
cannot train is skipped). Pairs at match probability 0.5 and above are clustered into connected
components. Records are then expanded to source records through the
pipeline's members map, as the pipeline's own output is.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import duckdb
import pandas as pd

from customer360_dev.identity_eval.metrics import ASSIGNMENT_COLUMNS

THRESHOLD = 0.5
U_MAX_PAIRS = 2e6
SEED = 42
COLUMNS = ("first_name", "surname", "birth_date", "postal_code", "email", "phone", "city", "street")


def _records_sql(input_table: str) -> str:
    # one row per identity record (its latest version); names from the full name when the parts are empty
    return f"""
    with latest as (
        select *
        from {input_table}
        where source_channel is not null and source_record_id is not null
        qualify row_number() over (
            partition by source_channel, source_record_id order by observed_at desc nulls last
        ) = 1
    ),
    named as (
        select
            *,
            string_split(trim(regexp_replace(coalesce(full_name, ''), '\\s+', ' ', 'g')), ' ') as name_parts
        from latest
    )
    select
        source_channel::varchar || ':' || source_record_id::varchar as unique_id,
        source_channel::varchar as source_channel,
        source_record_id::varchar as source_record_id,
        nullif(lower(trim(coalesce(first_name, case when len(name_parts) > 1 then name_parts[1] end))), '')
            as first_name,
        nullif(lower(trim(coalesce(last_name, name_parts[-1]))), '') as surname,
        try_cast(birth_date as date) as birth_date,
        nullif(upper(regexp_replace(postal_code::varchar, '\\s', '', 'g')), '') as postal_code,
        nullif(lower(trim(email::varchar)), '') as email,
        nullif(trim(phone::varchar), '') as phone,
        nullif(lower(trim(city::varchar)), '') as city,
        nullif(lower(trim(street::varchar)), '') as street
    from named
    """


def read_records(warehouse_path: Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """``(records, members)``: the identity input and the source-record map (None when not built)."""
    from customer360.identity.records import INPUT_TABLE, MEMBERS_TABLE

    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        con.execute("set enable_progress_bar = false")
        records = con.execute(_records_sql(INPUT_TABLE)).df()
        schema, table = MEMBERS_TABLE.split(".")
        has_members = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()[0][0]
        members = (
            con.execute(
                f"select source_channel::varchar as source_channel, source_record_id::varchar as "
                f"source_record_id, identity_record_id::varchar as identity_record_id from {MEMBERS_TABLE}"
            ).df()
            if has_members
            else None
        )
    finally:
        con.close()
    return records, members


def _model(filled: set[str]):
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    comparisons = []
    if "first_name" in filled:
        comparisons.append(cl.NameComparison("first_name"))
    if "surname" in filled:
        comparisons.append(cl.NameComparison("surname"))
    if "birth_date" in filled:
        comparisons.append(cl.DateOfBirthComparison("birth_date", input_is_string=False))
    if "postal_code" in filled:
        # Splink's PostcodeComparison reads UK postcodes (sector, district); these sets are not British
        comparisons.append(cl.LevenshteinAtThresholds("postal_code", [1, 2]))
    if "email" in filled:
        comparisons.append(cl.EmailComparison("email"))
    if "phone" in filled:
        comparisons.append(cl.ExactMatch("phone"))
    if "city" in filled:
        comparisons.append(cl.ExactMatch("city"))
    if "street" in filled:
        comparisons.append(cl.JaroWinklerAtThresholds("street"))
    candidates = [
        ("first_name", "surname"),
        ("surname", "birth_date"),
        ("first_name", "birth_date"),
        ("surname", "postal_code"),
        ("postal_code",),
        ("birth_date",),
        ("street",),
        ("email",),
        ("phone",),
    ]
    blocking = [block_on(*cols) for cols in candidates if set(cols) <= filled]
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=blocking,
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    deterministic = [
        block_on(*cols)
        for cols in (("first_name", "surname", "birth_date"), ("email",), ("phone",))
        if set(cols) <= filled
    ]
    em_sessions = [("first_name", "surname")] + [
        (col,) for col in ("email", "birth_date", "postal_code") if col in filled
    ][:1]
    return settings, deterministic, [cols for cols in em_sessions if set(cols) <= filled]


def cluster_with_splink(records: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """``(unique_id and cluster_id of every record, EM sessions skipped)`` (Splink 5, DuckDB, in memory)."""
    from splink import DuckDBAPI, Linker, block_on

    filled = {c for c in COLUMNS if c in records.columns and records[c].notna().any()}
    settings, deterministic, em_rules = _model(filled)
    frame = records[["unique_id", *sorted(filled)]]
    db_api = DuckDBAPI()
    # Splink warns about every level EM cannot train; the skipped sessions are reported instead
    linker = Linker(db_api.register(frame), settings, log_level=logging.ERROR)
    if deterministic:
        linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=U_MAX_PAIRS, seed=SEED)
    skipped = []
    for columns in em_rules:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(block_on(*columns))
        except Exception as exc:  # noqa: BLE001 - Splink refuses a session it cannot train; m stays as it was
            skipped.append(f"EM blocked on {', '.join(columns)}: {str(exc).splitlines()[0][:120]}")
    predictions = linker.inference.predict(threshold_match_probability=THRESHOLD)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=THRESHOLD
    )
    return clusters.as_pandas_dataframe()[["unique_id", "cluster_id"]], skipped


def splink_assignments(warehouse_path: Path) -> tuple[pd.DataFrame, dict[str, object]]:
    """Cluster a set's identity input with Splink; ``(assignments per source record, details)``."""
    started = time.perf_counter()
    records, members = read_records(warehouse_path)
    clusters, skipped = cluster_with_splink(records)
    assigned = records[["unique_id", "source_channel", "source_record_id"]].merge(clusters, on="unique_id")
    assigned = assigned.rename(columns={"cluster_id": "customer_id"})
    if members is not None:
        assigned = members.merge(
            assigned.rename(columns={"source_record_id": "identity_record_id"}),
            on=["source_channel", "identity_record_id"],
        )
    assigned["customer_id"] = assigned["customer_id"].astype("string")
    details = {"seconds": round(time.perf_counter() - started, 1), "em_sessions_skipped": skipped}
    return assigned[ASSIGNMENT_COLUMNS], details
