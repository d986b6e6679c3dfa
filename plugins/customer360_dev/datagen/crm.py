"""``crm_contacts``: one row per contact version (created or changed that day), local time without offset.

Contacts created before the window arrive in the first day's file as an initial extract. A few persons
have a second CRM record (a duplicate keyed in with other identifier variants). Changes: new e-mail
address, move, opt-out after an unsubscribe, small edits, deletion. A few versions are re-exported in the
same file with a tiny change (near duplicates with the same key).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer360_dev.datagen import identifiers as ids
from customer360_dev.datagen.batch import Batch, concat_batches
from customer360_dev.datagen.behaviour import CRM_DELETE, Schedule
from customer360_dev.datagen.formatting import (
    concat,
    date_text,
    int_text,
    iso_text,
    replace_where,
    skip_spring_gap,
    strings,
    take,
    to_datetime64,
    with_nulls,
)
from customer360_dev.datagen.people import Persons

NEAR_DUPLICATE_SHARE = 0.002
LANGUAGES: dict[str, str] = {"NL": "nl", "DE": "de", "BE": "nl", "GB": "en", "FR": "fr", "CN": "zh"}
# true/false text forms the contract accepts, with how often each is written
BOOL_FORMS: tuple[tuple[str, str], ...] = (("true", "false"), ("1", "0"), ("yes", "no"), ("Y", "N"))
BOOL_FORM_WEIGHTS = (0.8, 0.1, 0.05, 0.05)


def bool_text(values: np.ndarray, rng: np.random.Generator) -> pa.Array:
    form = rng.choice(len(BOOL_FORMS), size=len(values), p=BOOL_FORM_WEIGHTS)
    flat = strings([text for pair in BOOL_FORMS for text in (pair[1], pair[0])])
    return take(flat, form * 2 + values.astype(np.int64))


class CrmContacts:
    def __init__(self, persons: Persons, schedule: Schedule) -> None:
        self.persons = persons
        self.schedule = schedule
        rec, ver = schedule.crm_records, schedule.crm_versions
        # contact ids in order of creation
        order = np.lexsort((np.arange(len(rec.person)), rec.created_second, rec.created_day))
        self.contact_seq = np.empty(len(order), np.int64)
        self.contact_seq[order] = np.arange(len(order)) + 1
        # versions before the window belong to the initial extract in the first file
        file_day = np.maximum(ver.day, schedule.first_day)
        self.order = np.lexsort((ver.record, ver.second, ver.day, file_day))
        self.bounds = np.searchsorted(
            file_day[self.order], np.arange(schedule.first_day, schedule.end_day + 1)
        )
        first_version = np.zeros(len(ver.record), bool)
        by_time = np.lexsort((ver.second, ver.day))
        _, first_idx = np.unique(ver.record[by_time], return_index=True)
        first_version[by_time[first_idx]] = True
        self.first_version = first_version

    def build(self, day: int, rng: np.random.Generator) -> Batch | None:
        s = self.schedule
        i = day - s.first_day
        v = self.order[int(self.bounds[i]) : int(self.bounds[i + 1])]
        if not len(v):
            return None
        p, rec, ver = self.persons, s.crm_records, s.crm_versions
        r = ver.record[v]
        person = rec.person[r]
        k = len(v)
        vday = ver.day[v]
        first, last, full = ids.names(p, person, rec.name_kind[r])
        # Western names: a share of systems fill full_name too.
        fill_full = (~p.is_chinese[person]) & (rng.random(k) < 0.15)
        full = replace_where(full, fill_full, ids.display_name(first, last, pa.nulls(k, pa.string())))
        email = ids.emails(p, person, rec.email_kind[r], vday)
        email = replace_where(email, rec.use_generic_email[r], take(p.generic_email, person))
        phone = ids.phones(p, person, (rec.phone_kind[r] + (rng.random(k) < 0.1)) % 4)
        phone = replace_where(phone, rec.use_landline[r], ids.landlines(p, person, rec.phone_kind[r]))
        phone = replace_where(phone, rec.use_placeholder_phone[r], take(p.placeholder_phone, person))
        street, postal, city, country = ids.addresses(p, person, vday)
        country = replace_where(country, rec.country_as_name[r], ids.country_names(country))
        created = skip_spring_gap(to_datetime64(rec.created_day[r], rec.created_second[r]))
        updated = skip_spring_gap(to_datetime64(vday, ver.second[v]))
        opted_in = p.email_opt_in[person] & (vday < p.unsubscribe_day[person])
        deleted = ver.kind[v] == CRM_DELETE
        gender = take(p.gender, person)
        gender = replace_where(gender, rng.random(k) < 0.05, "u")
        language = pc.take(
            strings(list(LANGUAGES.values())),
            pc.index_in(take(p.country, person), value_set=strings(list(LANGUAGES))),
        )
        columns = {
            "contact_id": concat("C", int_text(self.contact_seq[r], 8)),
            "updated_at": iso_text(updated),
            "created_at": iso_text(created),
            "account_id": ids.optional(take(p.account_id, person), rng, 0.9),
            "loyalty_id": ids.optional(take(p.loyalty_id, person), rng, 0.85),
            "first_name": first,
            "last_name": last,
            "full_name": full,
            "email": email,
            "phone": phone,
            "birth_date": with_nulls(date_text(p.birth_day[person]), rng.random(k) < 0.05),
            "gender": gender,
            "street": street,
            "postal_code": ids.postal_variant(postal, rng, 0.1),
            "city": city,
            "country": country,
            "preferred_language": language,
            "email_opt_in": bool_text(opted_in, rng),
            "sms_opt_in": bool_text(p.sms_opt_in[person], rng),
            "is_deleted": bool_text(deleted, rng),
        }
        batch = Batch(
            columns=columns, person=person, record_id=columns["contact_id"], in_truth=self.first_version[v]
        )
        return self._with_near_duplicates(batch, rng)

    def _with_near_duplicates(self, batch: Batch, rng: np.random.Generator) -> Batch:
        rows = np.flatnonzero(rng.random(batch.n_records) < NEAR_DUPLICATE_SHARE)
        if not len(rows):
            return batch
        copy = batch.take(rows)
        # The same version exported twice, once with the surname re-cased by another system.
        copy.columns["last_name"] = pc.utf8_upper(copy.columns["last_name"])
        copy.columns["first_name"] = pc.utf8_upper(copy.columns["first_name"])
        copy.columns["phone"] = ids.phones(self.persons, copy.person, rng.integers(0, 4, len(rows)))
        copy.in_truth[:] = False
        copy.near_duplicate[:] = True
        return concat_batches([batch, copy])
