"""Ground truth for evaluating the pipeline (never read by it).

``source_records.parquet``: ``source_channel, source_record_id, person_id`` for every source record that
identifies a person (written as the days are generated). ``persons.parquet``: each person's true
attributes and behaviour (purchase rate, dropout, whether and when the person stopped buying).
``planted.parquet``: the truths the marts must recover (``write_planted``), one row per person.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from customer360_dev.datagen import vocab
from customer360_dev.datagen.behaviour import NEVER, Schedule
from customer360_dev.datagen.formatting import concat, take, with_nulls
from customer360_dev.datagen.people import PLANTED_COHORTS, Persons

SOURCE_RECORDS_FILE = "source_records.parquet"
PERSONS_FILE = "persons.parquet"
PLANTED_FILE = "planted.parquet"
SOURCE_RECORDS_SCHEMA = pa.schema(
    [("source_channel", pa.string()), ("source_record_id", pa.string()), ("person_id", pa.string())]
)


class SourceRecordsWriter:
    """Streams ground-truth rows to ``source_records.parquet`` day by day."""

    def __init__(self, truth_dir: Path) -> None:
        truth_dir.mkdir(parents=True, exist_ok=True)
        self.path = truth_dir / SOURCE_RECORDS_FILE
        self._writer = pq.ParquetWriter(self.path, SOURCE_RECORDS_SCHEMA, compression="zstd")
        self.rows = 0

    def add(self, channel: str, record_id: pa.Array, person_id: pa.Array) -> int:
        n = len(record_id)
        if n:
            table = pa.table(
                {
                    "source_channel": pa.array([channel] * n, pa.string()),
                    "source_record_id": record_id,
                    "person_id": person_id,
                },
                schema=SOURCE_RECORDS_SCHEMA,
            )
            self._writer.write_table(table)
            self.rows += n
        return n

    def close(self) -> None:
        self._writer.close()


def _dates(day_numbers: np.ndarray) -> pa.Array:
    never = day_numbers >= NEVER
    values = np.where(never, 0, day_numbers).astype("datetime64[D]")
    return pa.array(values, pa.date32(), mask=never)


def write_persons(truth_dir: Path, persons: Persons, schedule: Schedule) -> Path:
    """True attributes and behaviour of every person."""
    n = persons.n
    orders = np.bincount(schedule.orders.person, minlength=n)
    t = schedule.tickets
    bad_tickets = np.bincount(t.person[t.is_bad], minlength=n) if len(t) else np.zeros(n, np.int64)
    complaints = np.bincount(t.person[t.is_complaint], minlength=n) if len(t) else np.zeros(n, np.int64)
    prefs = np.diff(np.concatenate([np.zeros((n, 1), np.float32), persons.category_cumprefs], axis=1), axis=1)
    hanzi = concat(persons.hanzi_surname, persons.hanzi_given)
    latin_full = concat(persons.first_name, " ", persons.last_name)
    household = np.where(persons.household_id >= 0, persons.household_id, 0)
    table = pa.table(
        {
            "person_id": persons.person_id,
            "first_name": persons.first_name,
            "last_name": persons.last_name,
            "full_name": pc.coalesce(hanzi, latin_full),
            "name_script": pa.array(np.where(persons.is_chinese, "han", "latin")),
            "gender": persons.gender,
            "birth_date": _dates(persons.birth_day),
            "email": persons.email,
            "email_new": persons.email_new,
            "email_changed_on": _dates(persons.email_change_day),
            "generic_email": persons.generic_email,
            "phone_e164": persons.phone_e164,
            "landline": persons.landline_variants[0],
            "placeholder_phone": persons.placeholder_phone,
            "street": persons.street,
            "postal_code": persons.postal_code,
            "city": persons.city,
            "country": persons.country,
            "moved_on": _dates(persons.move_day),
            "street_new": with_nulls(persons.street_new, persons.move_day >= NEVER),
            "postal_code_new": with_nulls(persons.postal_code_new, persons.move_day >= NEVER),
            "city_new": with_nulls(persons.city_new, persons.move_day >= NEVER),
            "household_id": with_nulls(take(persons.person_id, household), persons.household_id < 0),
            "loyalty_id": persons.loyalty_id,
            "account_id": persons.account_id,
            "social_handle": persons.social_handle,
            "followers": persons.followers,
            "has_crm": persons.has_crm,
            "has_crm_duplicate": persons.has_crm_duplicate,
            "is_deleted": persons.is_deleted,
            "email_opt_in": persons.email_opt_in,
            "sms_opt_in": persons.sms_opt_in,
            "unsubscribed_on": _dates(persons.unsubscribe_day),
            "is_prospect": persons.is_prospect,
            "is_hidden_gem": persons.is_hidden_gem,
            "joined_on": _dates(persons.join_day),
            "purchase_rate_per_year": persons.purchase_rate * 365.0,
            "dropout_probability": persons.dropout_prob,
            "mean_order_value": persons.order_value,
            "web_share": persons.web_share,
            "top_category": take(pa.array(vocab.CATEGORIES), np.argmax(prefs, axis=1)),
            "problem_probability": persons.problem_prob,
            "expectation_score": persons.expectation,
            "orders_in_window": orders,
            "complaints_in_window": complaints,
            "bad_service_tickets": bad_tickets,
            "first_order_on": _dates(schedule.first_order_day),
            "dropped_out_on": _dates(schedule.dropout_day),
            "is_alive_at_end": ~persons.is_prospect & (schedule.dropout_day >= NEVER),
            "reactivated": schedule.reactivated,
        }
    )
    path = truth_dir / PERSONS_FILE
    pq.write_table(table, path, compression="zstd")
    return path


def write_planted(truth_dir: Path, persons: Persons, schedule: Schedule) -> Path:
    """The planted truths, one row per person: the cohort (gold, costly, declining, complainer_who_leaves;
    null for most), whether the person is a planted hidden gem, when they joined, whether they bought in the
    window, whether they churned (dropped out for good before the end; ``churned_on`` the day), and their
    first purchase day after the window (``next_purchase_on``, null when they buy no more: the outcome the
    churn mart predicts, "no purchase in the horizon after the as-of date")."""
    n = persons.n
    orders = np.bincount(schedule.orders.person, minlength=n)
    churned = (~persons.is_prospect) & (schedule.dropout_day < NEVER)
    cohort = np.asarray(PLANTED_COHORTS, dtype=object)[persons.planted]
    table = pa.table(
        {
            "person_id": persons.person_id,
            "cohort": pa.array(np.where(cohort == "", None, cohort), pa.string()),
            "is_hidden_gem": persons.is_hidden_gem,
            "joined_on": _dates(persons.join_day),
            "bought_in_window": orders > 0,
            "is_churned": churned,
            "churned_on": _dates(np.where(churned, schedule.dropout_day, NEVER)),
            "next_purchase_on": _dates(schedule.next_purchase_day),
        }
    )
    path = truth_dir / PLANTED_FILE
    pq.write_table(table, path, compression="zstd")
    return path
