"""Web orders and store transactions, rendered day by day from the order schedule.

Order lines are drawn per day (never all at once): line count, category from the person's preferences,
a SKU whose price fits the order's gamma-distributed value, quantity, discount. Returns and re-exports
that happen on a later day wait in a small per-day queue.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer360_dev.datagen import identifiers as ids
from customer360_dev.datagen import vocab
from customer360_dev.datagen.batch import Batch, concat_batches, line_numbers
from customer360_dev.datagen.behaviour import (
    STATUS_CANCELLED,
    STATUS_PENDING,
    STATUS_RETURNED,
    Schedule,
)
from customer360_dev.datagen.formatting import (
    amsterdam_offset_hours,
    concat,
    int_text,
    iso_text,
    money_text,
    offset_text,
    replace_where,
    skip_spring_gap,
    strings,
    take,
    to_datetime64,
    with_nulls,
)
from customer360_dev.datagen.people import STORES_BY_COUNTRY, Persons

SKUS_PER_CATEGORY = 300
NEAR_DUPLICATE_SHARE = 0.002
WEB_STATUS_TEXT = ("completed", "cancelled", "returned", "pending")
PAYMENT_METHODS = ("card", "cash", "mobile", "voucher")
LINE_COUNT_WEIGHTS = (0.35, 0.28, 0.18, 0.12, 0.07)
QUANTITY_WEIGHTS = (0.75, 0.17, 0.05, 0.03)
STORE_COUNT = sum(STORES_BY_COUNTRY.values())


@dataclass
class Catalogue:
    price_cents: list[np.ndarray]  # per category, ascending
    cost_cents: list[np.ndarray]
    sku: list[pa.Array]


def build_catalogue(rng: np.random.Generator) -> Catalogue:
    prices, costs, skus = [], [], []
    for code, (median, sigma), margin in zip(
        vocab.CATEGORY_CODES, vocab.CATEGORY_PRICE_LEVELS, vocab.CATEGORY_MARGINS, strict=True
    ):
        price = np.sort(np.round(rng.lognormal(np.log(median), sigma, SKUS_PER_CATEGORY), 1) * 100 - 1)
        price = np.maximum(price, 49).astype(np.int64)
        cost = np.round(price * (1 - margin * rng.uniform(0.7, 1.3, SKUS_PER_CATEGORY))).astype(np.int64)
        numbers = rng.choice(90_000, SKUS_PER_CATEGORY, replace=False) + 10_000
        prices.append(price)
        costs.append(cost)
        skus.append(concat(code + "-", int_text(numbers)))
    return Catalogue(prices, costs, skus)


@dataclass
class Lines:
    count: np.ndarray  # lines per order
    record: np.ndarray  # order of each line
    category: np.ndarray
    sku: pa.Array
    quantity: np.ndarray
    price: np.ndarray
    cost: np.ndarray
    discount: np.ndarray

    @property
    def net(self) -> np.ndarray:
        return self.price * self.quantity - self.discount


def draw_lines(
    rng: np.random.Generator, persons: Persons, person: np.ndarray, value: np.ndarray, catalogue: Catalogue
) -> Lines:
    m = len(person)
    count = rng.choice(np.arange(1, len(LINE_COUNT_WEIGHTS) + 1), size=m, p=LINE_COUNT_WEIGHTS)
    record = np.repeat(np.arange(m), count)
    total = len(record)
    quantity = rng.choice(np.arange(1, len(QUANTITY_WEIGHTS) + 1), size=total, p=QUANTITY_WEIGHTS)
    u = rng.random(total).astype(np.float32)
    category = (persons.category_cumprefs[person[record]] < u[:, None]).sum(axis=1).astype(np.int8)
    category = np.minimum(category, len(vocab.CATEGORIES) - 1)
    target = value[record] / count[record] / quantity * rng.lognormal(0.0, 0.35, total) * 100
    price = np.zeros(total, np.int64)
    cost = np.zeros(total, np.int64)
    sku_index = np.zeros(total, np.int64)
    for ci in range(len(vocab.CATEGORIES)):
        mask = category == ci
        if not mask.any():
            continue
        pos = np.clip(np.searchsorted(catalogue.price_cents[ci], target[mask]), 0, SKUS_PER_CATEGORY - 1)
        price[mask] = catalogue.price_cents[ci][pos]
        cost[mask] = catalogue.cost_cents[ci][pos]
        sku_index[mask] = ci * SKUS_PER_CATEGORY + pos
    all_skus = pa.concat_arrays(catalogue.sku)
    discounted = rng.random(total) < 0.2
    discount = np.where(discounted, np.round(price * quantity * rng.uniform(0.05, 0.3, total)), 0).astype(
        np.int64
    )
    return Lines(count, record, category, take(all_skus, sku_index), quantity, price, cost, discount)


def wall_clock(
    persons: Persons, person: np.ndarray, day: np.ndarray, second: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Local wall-clock time in the person's time zone and its UTC offset in hours."""
    local = skip_spring_gap(to_datetime64(day, second))
    offset = amsterdam_offset_hours(local).astype(np.int64)
    country = persons.country_index[person]
    offset = np.where(country == vocab.COUNTRIES.index("GB"), offset - 1, offset)
    offset = np.where(country == vocab.COUNTRIES.index("CN"), 8, offset)
    return local, offset


def _day_slices(days: np.ndarray, first_day: int, end_day: int) -> np.ndarray:
    return np.searchsorted(days, np.arange(first_day, end_day + 1))


class _Pool:
    """Records waiting for a later day, kept in one batch; each day takes its share out in one go."""

    def __init__(self) -> None:
        self.batch: Batch | None = None
        self.day = np.zeros(0, np.int64)
        self.extra: dict[str, np.ndarray] = {}

    def add(self, batch: Batch, day: np.ndarray, **extra: np.ndarray) -> None:
        if not batch.n_records:
            return
        if self.batch is None:
            self.batch, self.day, self.extra = batch, day.astype(np.int64), extra
            return
        self.batch = concat_batches([self.batch, batch])
        self.day = np.concatenate([self.day, day.astype(np.int64)])
        self.extra = {k: np.concatenate([v, extra[k]]) for k, v in self.extra.items()}

    def pop(self, day: int) -> tuple[Batch, dict[str, np.ndarray]] | None:
        if self.batch is None:
            return None
        due = self.day == day
        if not due.any():
            return None
        out = self.batch.take(np.flatnonzero(due))
        out_extra = {k: v[due] for k, v in self.extra.items()}
        keep = np.flatnonzero(~due)
        if len(keep):
            self.batch = self.batch.take(keep)
            self.day = self.day[keep]
            self.extra = {k: v[keep] for k, v in self.extra.items()}
        else:
            self.batch, self.day, self.extra = None, np.zeros(0, np.int64), {}
        return out, out_extra


class WebOrders:
    """``web_orders``: one JSON object per order (order fields, nested customer/shipping, lines)."""

    def __init__(self, persons: Persons, schedule: Schedule, catalogue: Catalogue) -> None:
        self.persons = persons
        self.schedule = schedule
        self.catalogue = catalogue
        self.index = np.flatnonzero(schedule.orders.is_web)
        self.bounds = _day_slices(schedule.orders.day[self.index], schedule.first_day, schedule.end_day)
        self.queue: dict[int, list[Batch]] = defaultdict(list)
        self.returns = _Pool()

    def build(self, day: int, rng: np.random.Generator) -> Batch | None:
        i = day - self.schedule.first_day
        lo, hi = int(self.bounds[i]), int(self.bounds[i + 1])
        parts: list[Batch] = []
        if hi > lo:
            sel = self.index[lo:hi]
            parts.append(self._fresh(day, rng, sel, np.arange(lo, hi)))
        returns = self.returns.pop(day)
        if returns is not None:
            parts.append(returns[0])
        parts.extend(self.queue.pop(day, []))
        return concat_batches(parts) if parts else None

    def _fresh(self, day: int, rng: np.random.Generator, sel: np.ndarray, seq: np.ndarray) -> Batch:
        p, o = self.persons, self.schedule.orders
        m = len(sel)
        person = o.person[sel]
        lines = draw_lines(rng, p, person, o.value[sel], self.catalogue)
        local, offset = wall_clock(p, person, o.day[sel], o.second[sel])
        zone = offset_text(offset)
        status = o.status[sel]
        first_status = np.where(status == STATUS_RETURNED, 0, status)
        delay = np.where(
            first_status == STATUS_CANCELLED, rng.integers(600, 20_000, m), rng.integers(60, 7_200, m)
        )
        delay = np.where(first_status == STATUS_PENDING, 0, delay)
        name_kind = rng.choice(ids.NAME_KINDS, size=m, p=[0.7, 0.08, 0.04, 0.1, 0.08])
        first, last, _ = ids.names(p, person, name_kind, parts_only=True)
        email_kind = rng.choice(4, size=m, p=[0.82, 0.08, 0.07, 0.03])
        email = ids.emails(p, person, email_kind, day)
        generic = take(p.generic_email, person)
        email = replace_where(email, np.asarray(generic.is_valid()) & (rng.random(m) < 0.5), generic)
        street, postal, city, country = ids.addresses(p, person, day)
        gross = np.bincount(lines.record, weights=lines.net, minlength=m)
        shipping = np.where(gross >= 5000, 0, np.where(rng.random(m) < 0.15, 295, 495))
        columns = {
            "order_id": concat("WEB", int_text(seq + 1, 9)),
            "ordered_at": iso_text(local, zone),
            "status": take(strings(list(WEB_STATUS_TEXT)), first_status),
            "updated_at": iso_text(local + delay.astype("timedelta64[s]"), zone),
            "currency": with_nulls(take(strings(["EUR"]), np.zeros(m, np.int64)), rng.random(m) < 0.03),
            "customer.account_id": ids.optional(take(p.account_id, person), rng, 0.97),
            "customer.email": ids.optional(email, rng, 0.98),
            "customer.phone": ids.optional(ids.phones(p, person, rng.integers(0, 4, m)), rng, 0.6),
            "customer.first_name": first,
            "customer.last_name": last,
            "shipping.street": street,
            "shipping.postal_code": ids.postal_variant(postal, rng, 0.2),
            "shipping.city": city,
            "shipping.country": country,
            "shipping_amount": money_text(shipping),
        }
        line_columns = {
            "line_number": int_text(line_numbers(lines.count)),
            "sku": lines.sku,
            "category": take(strings(list(vocab.CATEGORIES)), lines.category),
            "quantity": int_text(lines.quantity),
            "unit_price": money_text(lines.price),
            "unit_cost": money_text(lines.cost),
            "discount_amount": money_text(lines.discount),
            "returned_quantity": int_text(np.zeros(len(lines.record), np.int64)),
        }
        batch = Batch(
            columns=columns,
            person=person,
            record_id=columns["order_id"],
            in_truth=np.ones(m, bool),
            lines=line_columns,
            line_record=lines.record,
        )
        self._queue_returns(batch, rng, sel, lines)
        self._queue_near_duplicates(batch, rng, day)
        return batch

    def _queue_returns(self, batch: Batch, rng: np.random.Generator, sel: np.ndarray, lines: Lines) -> None:
        o = self.schedule.orders
        returned = np.flatnonzero(o.status[sel] == STATUS_RETURNED)
        if not len(returned):
            return
        # Line 1 always goes back; other lines with some probability, fully or partly.
        back = (line_numbers(lines.count) == 1) | (rng.random(len(lines.record)) < 0.4)
        qty = np.where(back, np.maximum(1, np.round(lines.quantity * rng.uniform(0.5, 1.0, len(back)))), 0)
        return_second = rng.integers(8 * 3600, 22 * 3600, len(returned))
        return_day = o.return_day[sel][returned]
        copy = batch.take(returned)
        local, offset = wall_clock(self.persons, copy.person, return_day, return_second)
        copy.columns["status"] = take(strings(["returned"]), np.zeros(len(returned), np.int64))
        copy.columns["updated_at"] = iso_text(local, offset_text(offset))
        # ``returned`` is ascending, so the copy's lines are the selected lines in their original order
        copy.lines["returned_quantity"] = int_text(qty[np.isin(lines.record, returned)])
        copy.in_truth[:] = False
        self.returns.add(copy, return_day)

    def _queue_near_duplicates(self, batch: Batch, rng: np.random.Generator, day: int) -> None:
        if day + 1 >= self.schedule.end_day:
            return
        recs = np.flatnonzero(rng.random(batch.n_records) < NEAR_DUPLICATE_SHARE)
        if not len(recs):
            return
        copy = batch.take(recs)
        # Re-exported a few seconds later with the phone written differently.
        stamp = pc.utf8_slice_codeunits(copy.columns["updated_at"], 0, 19)
        zone = pc.utf8_slice_codeunits(copy.columns["updated_at"], 19, 25)
        moved = np.array(stamp.to_pylist(), dtype="datetime64[s]") + rng.integers(1, 90, len(recs)).astype(
            "timedelta64[s]"
        )
        copy.columns["updated_at"] = concat(iso_text(moved), zone)
        copy.columns["customer.phone"] = ids.phones(self.persons, copy.person, rng.integers(0, 4, len(recs)))
        copy.in_truth[:] = False
        copy.near_duplicate[:] = True
        self.queue[day + 1].append(copy)


@dataclass
class _PendingReturn:
    """Store returns waiting for their day: line rows without a transaction id yet."""

    batch: Batch
    transaction: np.ndarray  # transaction (0..k-1) of each row
    store: np.ndarray  # per transaction
    second: np.ndarray  # per transaction


class PosTransactions:
    """``pos_transactions``: one row per line; voids and returns are their own transactions."""

    def __init__(self, persons: Persons, schedule: Schedule, catalogue: Catalogue) -> None:
        self.persons = persons
        self.schedule = schedule
        self.catalogue = catalogue
        self.index = np.flatnonzero(~schedule.orders.is_web)
        self.bounds = _day_slices(schedule.orders.day[self.index], schedule.first_day, schedule.end_day)
        self.returns = _Pool()
        self.next_return = 0
        self.queue: dict[int, list[Batch]] = defaultdict(list)

    def build(self, day: int, rng: np.random.Generator) -> Batch | None:
        i = day - self.schedule.first_day
        lo, hi = int(self.bounds[i]), int(self.bounds[i + 1])
        sel = self.index[lo:hi]
        pending: list[_PendingReturn] = []
        due = self.returns.pop(day)
        if due is not None:
            rows, extra = due
            _, first, transaction = np.unique(extra["key"], return_index=True, return_inverse=True)
            pending.append(_PendingReturn(rows, transaction, extra["store"][first], extra["second"][first]))
        parts: list[Batch] = []
        if len(sel) or pending:
            parts.append(self._fresh(day, rng, sel, pending))
        parts.extend(self.queue.pop(day, []))
        return concat_batches(parts) if parts else None

    def _fresh(
        self, day: int, rng: np.random.Generator, sel: np.ndarray, pending: list[_PendingReturn]
    ) -> Batch:
        p, o = self.persons, self.schedule.orders
        m = len(sel)
        person = o.person[sel]
        lines = draw_lines(rng, p, person, o.value[sel], self.catalogue)
        store = np.where(rng.random(m) < 0.85, p.home_store[person], rng.integers(0, STORE_COUNT, m))
        second = o.second[sel]
        # Transaction ids: store, date and a sequence per store and day (sales and returns together).
        t_store = np.concatenate([store] + [r.store for r in pending]).astype(np.int64)
        t_second = np.concatenate([second] + [r.second for r in pending]).astype(np.int64)
        order = np.lexsort((t_second, t_store))
        seq = np.empty(len(order), np.int64)
        sorted_store = t_store[order]
        group_start = np.searchsorted(sorted_store, sorted_store)
        seq[order] = np.arange(len(order)) - group_start + 1
        date = np.datetime_as_string(np.datetime64(int(day), "D")).replace("-", "")
        store_text = concat("S", int_text(t_store + 1, 3))
        txn_id = concat(store_text, "-" + date + "-", int_text(seq, 4))
        local = skip_spring_gap(to_datetime64(np.full(len(t_second), day), t_second))
        txn_time = iso_text(local)

        rows = lines.record
        k = len(rows)
        rp = person[rows]
        status = o.status[sel]
        has_loyalty = np.asarray(p.loyalty_id.is_valid())[person] & (rng.random(m) < 0.9)
        gives_email = rng.random(m) < 0.15
        gives_phone = rng.random(m) < 0.05
        email = ids.emails(p, person, rng.choice(4, size=m, p=[0.75, 0.15, 0.05, 0.05]), day)
        phone = ids.phones(p, person, rng.integers(0, 4, m))
        phone = replace_where(
            phone, np.asarray(take(p.placeholder_phone, person).is_valid()), take(p.placeholder_phone, person)
        )
        payment = rng.choice(len(PAYMENT_METHODS), size=m, p=[0.6, 0.15, 0.2, 0.05])
        columns = {
            "transaction_id": take(txn_id, rows),
            "line_number": int_text(line_numbers(lines.count)),
            "store_id": take(store_text, rows),
            "transacted_at": take(txn_time, rows),
            "transaction_type": take(
                strings(["sale", "void"]), (status[rows] == STATUS_CANCELLED).astype(np.int64)
            ),
            "sku": lines.sku,
            "category": take(strings(list(vocab.CATEGORIES)), lines.category),
            "quantity": int_text(lines.quantity),
            "unit_price": money_text(lines.price),
            "unit_cost": money_text(lines.cost),
            "discount_amount": money_text(lines.discount),
            "loyalty_id": with_nulls(take(p.loyalty_id, rp), ~has_loyalty[rows]),
            "customer_email": with_nulls(take(email, rows), ~gives_email[rows]),
            "customer_phone": with_nulls(take(phone, rows), ~gives_phone[rows]),
            "original_transaction_id": pa.nulls(k, pa.string()),
            "payment_method": take(strings(list(PAYMENT_METHODS)), payment[rows]),
        }
        first_line = line_numbers(lines.count) == 1
        identifies = (
            has_loyalty
            | (gives_email & np.asarray(email.is_valid()))
            | (gives_phone & np.asarray(phone.is_valid()))
        )
        sales = Batch(
            columns=columns,
            person=rp,
            record_id=columns["transaction_id"],
            in_truth=first_line & identifies[rows],
        )
        self._queue_returns(sales, rng, sel, lines, store)
        parts = [sales] if k else []
        offset = m
        for r in pending:
            ids_for_rows = take(txn_id, offset + r.transaction)
            r.batch.columns["transaction_id"] = ids_for_rows
            r.batch.columns["transacted_at"] = take(txn_time, offset + r.transaction)
            r.batch.record_id = ids_for_rows
            offset += len(r.store)
            parts.append(r.batch)
        batch = concat_batches(parts)
        self._queue_near_duplicates(batch, rng, day)
        return batch

    def _queue_returns(
        self, sales: Batch, rng: np.random.Generator, sel: np.ndarray, lines: Lines, store: np.ndarray
    ) -> None:
        o = self.schedule.orders
        returned = np.flatnonzero(o.status[sel] == STATUS_RETURNED)
        if not len(returned):
            return
        back = (line_numbers(lines.count) == 1) | (rng.random(len(lines.record)) < 0.3)
        rows = np.flatnonzero(np.isin(lines.record, returned) & back)
        txn = np.searchsorted(returned, lines.record[rows])  # the returned sale each row belongs to
        copy = sales.take(rows)
        copy.columns["transaction_type"] = take(strings(["return"]), np.zeros(len(rows), np.int64))
        copy.columns["original_transaction_id"] = copy.columns["transaction_id"]
        copy.columns["line_number"] = int_text(line_numbers(np.bincount(txn, minlength=len(returned))))
        ident = (
            np.asarray(pc.is_valid(copy.columns["loyalty_id"]))
            | np.asarray(pc.is_valid(copy.columns["customer_email"]))
            | np.asarray(pc.is_valid(copy.columns["customer_phone"]))
        )
        first_row = np.ones(len(txn), bool)
        first_row[1:] = txn[1:] != txn[:-1]
        copy.in_truth = first_row & ident
        r_store = np.where(
            rng.random(len(returned)) < 0.8, store[returned], self.persons.home_store[o.person[sel][returned]]
        ).astype(np.int64)
        r_second = rng.integers(9 * 3600, 21 * 3600, len(returned))
        self.returns.add(
            copy,
            o.return_day[sel][returned][txn],
            key=self.next_return + txn,
            store=r_store[txn],
            second=r_second[txn],
        )
        self.next_return += len(returned)

    def _queue_near_duplicates(self, batch: Batch, rng: np.random.Generator, day: int) -> None:
        if day + 1 >= self.schedule.end_day or not batch.n_records:
            return
        ids_arr = pc.dictionary_encode(batch.columns["transaction_id"]).indices.to_numpy(zero_copy_only=False)
        chosen = np.flatnonzero(rng.random(int(ids_arr.max()) + 1) < NEAR_DUPLICATE_SHARE)
        rows = np.flatnonzero(np.isin(ids_arr, chosen))
        if not len(rows):
            return
        copy = batch.take(rows)
        # The till re-sends the transaction with the e-mail typed differently.
        email = copy.columns["customer_email"]
        copy.columns["customer_email"] = pc.if_else(pc.is_valid(email), pc.utf8_upper(email), email)
        copy.columns["payment_method"] = take(strings(["card"]), np.zeros(len(rows), np.int64))
        copy.in_truth[:] = False
        copy.near_duplicate[:] = True
        self.queue[day + 1].append(copy)
