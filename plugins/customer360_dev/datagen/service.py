"""``support_tickets`` (one row per ticket version) and ``surveys`` (one row per response), times in UTC.

A ticket is written on the day it is opened, again when the first answer comes on a later day while it
is still open, and again on the day it is resolved. ICON fields: the claim (interest), the standard
applied with its SLA hours (criteria), the options offered and the alternative accepted when the claim
was not met.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer360_dev.datagen import identifiers as ids
from customer360_dev.datagen import vocab
from customer360_dev.datagen.batch import Batch
from customer360_dev.datagen.behaviour import SECONDS_PER_DAY, Schedule
from customer360_dev.datagen.formatting import (
    concat,
    int_text,
    iso_text,
    strings,
    take,
    to_datetime64,
    with_nulls,
)
from customer360_dev.datagen.people import Persons

TICKET_CHANNELS = ("phone", "email", "chat", "social", "store")
PRIORITIES = ("low", "normal", "high", "urgent")
SURVEY_TYPES = ("csat", "nps", "relationship")
TOUCHPOINTS = ("web", "store", "support", "delivery")


def ticket_ids(index: np.ndarray) -> pa.Array:
    return concat("TCK-", int_text(index + 1, 8))


def _bool_text(values: np.ndarray) -> pa.Array:
    return take(strings(["false", "true"]), values.astype(np.int64))


class SupportTickets:
    def __init__(self, persons: Persons, schedule: Schedule) -> None:
        self.persons = persons
        self.schedule = schedule
        v = schedule.ticket_versions
        self.bounds = np.searchsorted(v.day, np.arange(schedule.first_day, schedule.end_day + 1))

    def build(self, day: int, rng: np.random.Generator) -> Batch | None:
        s, p = self.schedule, self.persons
        i = day - s.first_day
        v = np.arange(int(self.bounds[i]), int(self.bounds[i + 1]))
        if not len(v):
            return None
        t = s.tickets
        tk = s.ticket_versions.ticket[v]
        stage = s.ticket_versions.stage[v]
        k = len(v)
        person = t.person[tk]
        opened_s = t.open_day[tk].astype(np.int64) * SECONDS_PER_DAY + t.open_second[tk]
        opened = opened_s.astype("datetime64[s]")
        updated = to_datetime64(s.ticket_versions.day[v], s.ticket_versions.second[v])
        responded = (opened_s + (t.response_hours[tk] * 3600).astype(np.int64)).astype("datetime64[s]")
        resolved_h = np.where(np.isfinite(t.resolution_hours[tk]), t.resolution_hours[tk], 0.0)
        resolved = (opened_s + (resolved_h * 3600).astype(np.int64)).astype("datetime64[s]")
        claim = t.claim[tk].astype(np.int64)
        claims = vocab.TICKET_CLAIMS
        first, last, full = ids.names(p, person, t.name_kind[tk])
        status_code = np.where(stage == 2, np.where(t.closed[tk], 3, 2), stage)
        answered = stage >= 1
        done = stage == 2
        rated = done & (rng.random(k) < 0.7)
        columns = {
            "ticket_id": ticket_ids(tk),
            "updated_at": iso_text(updated, "Z"),
            "opened_at": iso_text(opened, "Z"),
            "channel": take(strings(list(TICKET_CHANNELS)), t.channel[tk]),
            "category": take(strings(list(vocab.TICKET_CATEGORIES)), t.category[tk]),
            "is_complaint": _bool_text(t.is_complaint[tk]),
            "status": take(strings(["open", "pending", "resolved", "closed"]), status_code),
            "priority": take(strings(list(PRIORITIES)), t.priority[tk]),
            "account_id": with_nulls(take(p.account_id, person), ~t.use_account[tk]),
            "customer_email": with_nulls(
                ids.emails(p, person, t.email_kind[tk], t.open_day[tk]), ~t.use_email[tk]
            ),
            "customer_phone": with_nulls(ids.phones(p, person, t.phone_kind[tk]), ~t.use_phone[tk]),
            "customer_name": ids.optional(ids.display_name(first, last, full), rng, 0.92),
            "claim": take(strings([c[0] for c in claims]), claim),
            "standard_applied": take(strings([c[1] for c in claims]), claim),
            "sla_hours": int_text(np.array([c[2] for c in claims])[claim]),
            "options_offered": with_nulls(take(strings([c[3] for c in claims]), claim), ~answered),
            "alternative_accepted": with_nulls(
                take(strings([c[4] for c in claims]), claim), ~(done & ~t.claim_met[tk])
            ),
            "first_response_at": with_nulls(iso_text(responded, "Z"), ~answered),
            "resolved_at": with_nulls(iso_text(resolved, "Z"), ~done),
            "contact_count": int_text(
                np.where(
                    stage == 0, 1, np.where(done, t.contact_count[tk], np.minimum(t.contact_count[tk], 2))
                )
            ),
            "reopened": _bool_text(done & t.reopened[tk]),
            "satisfaction_score": with_nulls(int_text(t.satisfaction[tk]), ~rated),
        }
        return Batch(columns=columns, person=person, record_id=columns["ticket_id"], in_truth=stage == 0)


class SurveyResponses:
    def __init__(self, persons: Persons, schedule: Schedule) -> None:
        self.persons = persons
        self.schedule = schedule
        self.bounds = np.searchsorted(
            schedule.surveys.day, np.arange(schedule.first_day, schedule.end_day + 1)
        )

    def build(self, day: int, rng: np.random.Generator) -> Batch | None:
        s, p = self.schedule, self.persons
        i = day - s.first_day
        lo, hi = int(self.bounds[i]), int(self.bounds[i + 1])
        if hi == lo:
            return None
        sv = s.surveys
        r = np.arange(lo, hi)
        k = len(r)
        person = sv.person[r]
        stype = sv.survey_type[r]
        touch = sv.touchpoint[r]
        ticket = sv.ticket[r]
        gap = sv.perceived[r].astype(np.int64) - sv.expectation[r]
        has_csat = stype != 1
        has_nps = stype != 0
        asks_gap = rng.random(k) < 0.75
        comment_kind = np.where(rng.random(k) < 0.15, np.where(gap >= 0, 1, 2), 0)
        good = take(
            strings(list(vocab.SURVEY_COMMENTS_GOOD)), rng.integers(0, len(vocab.SURVEY_COMMENTS_GOOD), k)
        )
        bad = take(
            strings(list(vocab.SURVEY_COMMENTS_BAD)), rng.integers(0, len(vocab.SURVEY_COMMENTS_BAD), k)
        )
        comment = pc.choose(pa.array(comment_kind.astype(np.int8)), pa.nulls(k, pa.string()), good, bad)
        email = ids.emails(p, person, rng.choice(4, size=k, p=[0.85, 0.1, 0.04, 0.01]), sv.day[r])
        columns = {
            "response_id": concat("RSP-", int_text(r + 1, 8)),
            "submitted_at": iso_text(to_datetime64(sv.day[r], sv.second[r]), "Z"),
            "survey_type": take(strings(list(SURVEY_TYPES)), stype),
            "touchpoint": with_nulls(take(strings(list(TOUCHPOINTS)), np.maximum(touch, 0)), touch < 0),
            "account_id": ids.optional(take(p.account_id, person), rng, 0.5),
            "email": ids.optional(email, rng, 0.85),
            "ticket_id": with_nulls(ticket_ids(np.maximum(ticket, 0)), (ticket < 0) | (rng.random(k) < 0.1)),
            "csat_score": with_nulls(int_text(sv.csat[r]), ~has_csat),
            "nps_score": with_nulls(int_text(sv.nps[r]), ~has_nps),
            "expectation_score": with_nulls(int_text(sv.expectation[r]), ~asks_gap),
            "perceived_score": with_nulls(int_text(sv.perceived[r]), ~asks_gap),
            "comment": comment,
        }
        identifies = (
            np.asarray(pc.is_valid(columns["account_id"]))
            | np.asarray(pc.is_valid(columns["email"]))
            | (np.asarray(pc.is_valid(columns["ticket_id"])))
        )
        return Batch(columns=columns, person=person, record_id=columns["response_id"], in_truth=identifies)
