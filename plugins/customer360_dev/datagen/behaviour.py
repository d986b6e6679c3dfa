"""What persons do over the window: purchases, service tickets, CRM edits, marketing and surveys.

The purchase process is BG/NBD-like: while alive, a buyer purchases at a personal Poisson rate; after each
purchase the buyer drops out with a personal probability. Bad service (an unresolved complaint or an SLA
breach) raises that dropout probability, so complaints correlate with churn. A few dropped-out buyers
come back after a long gap (reactivation). Everything here is an event schedule at header level (one
row per order, ticket, CRM version, marketing event, survey response); the channels render the details
day by day.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from customer360_dev.datagen import vocab
from customer360_dev.datagen.people import PLANTED_COHORTS, Persons

NEVER = np.iinfo(np.int32).max
SECONDS_PER_DAY = 86_400

BAD_SERVICE_SHARE = 0.30
BAD_SERVICE_DROPOUT = 0.45
REACTIVATION_SHARE = 0.08
REACTIVATION_GAP_DAYS = (90.0, 240.0)
DECLINE_RATE_FACTOR = 0.2  # planted decliners' purchase rate in the second half of the window
COSTLY_RETURN_SHARE = 0.5  # extra chance that a planted costly customer's order comes back
COSTLY_GENERAL_TICKETS_PER_YEAR = 6.0  # a planted costly customer's calls to the desk besides their orders
EXISTING_ALIVE_SHARE = 0.85
WEB_CANCEL_SHARE = 0.03
WEB_RETURN_SHARE = 0.07
POS_VOID_SHARE = 0.01
POS_RETURN_SHARE = 0.06
PENDING_SHARE_LAST_DAYS = 0.35
GENERAL_TICKETS_PER_YEAR = 0.05
SENDS_PER_YEAR = 7.0
ORGANIC_VISITS_PER_YEAR = 2.0
REVIEW_SHARE = 0.04
REFERRED_SHARE = 0.12
ORDER_SURVEY_SHARE = 0.05
TICKET_SURVEY_SHARE = 0.35
RELATIONSHIP_SURVEYS_PER_YEAR = 0.3
CRM_TOUCH_UPDATES_PER_YEAR = 0.7

# Web order status codes, POS transaction status codes and marketing event types.
STATUS_COMPLETED, STATUS_CANCELLED, STATUS_RETURNED, STATUS_PENDING = 0, 1, 2, 3
EVENT_TYPES: tuple[str, ...] = (
    "send",
    "open",
    "click",
    "visit",
    "social_mention",
    "share",
    "referral",
    "referral_converted",
    "review",
    "unsubscribe",
)
CRM_CREATED, CRM_EXTRACT, CRM_EMAIL_CHANGE, CRM_MOVE, CRM_OPT_OUT, CRM_TOUCH, CRM_DELETE = range(7)


@dataclass
class Orders:
    person: np.ndarray
    day: np.ndarray
    second: np.ndarray
    is_web: np.ndarray
    status: np.ndarray
    return_day: np.ndarray
    value: np.ndarray
    ticket: np.ndarray  # index into Tickets, -1 when none

    def __len__(self) -> int:
        return len(self.person)


@dataclass
class Tickets:
    person: np.ndarray
    order: np.ndarray
    open_day: np.ndarray
    open_second: np.ndarray
    category: np.ndarray
    claim: np.ndarray
    channel: np.ndarray
    priority: np.ndarray
    is_complaint: np.ndarray
    is_bad: np.ndarray
    response_hours: np.ndarray
    resolution_hours: np.ndarray  # inf when never resolved
    claim_met: np.ndarray
    reopened: np.ndarray
    contact_count: np.ndarray
    satisfaction: np.ndarray
    closed: np.ndarray  # resolved tickets later closed by the agent
    # identifier choices, fixed per ticket so both versions carry the same ones
    use_email: np.ndarray
    use_phone: np.ndarray
    use_account: np.ndarray
    name_kind: np.ndarray
    email_kind: np.ndarray
    phone_kind: np.ndarray

    def __len__(self) -> int:
        return len(self.person)


@dataclass
class TicketVersions:
    ticket: np.ndarray
    day: np.ndarray
    second: np.ndarray
    stage: np.ndarray  # 0 opened, 1 pending (first response, still unresolved), 2 resolved


@dataclass
class CrmRecords:
    person: np.ndarray
    created_day: np.ndarray
    created_second: np.ndarray
    is_duplicate: np.ndarray
    name_kind: np.ndarray
    email_kind: np.ndarray
    phone_kind: np.ndarray
    use_generic_email: np.ndarray
    use_placeholder_phone: np.ndarray
    use_landline: np.ndarray
    country_as_name: np.ndarray


@dataclass
class CrmVersions:
    record: np.ndarray
    day: np.ndarray
    second: np.ndarray
    kind: np.ndarray


@dataclass
class MarketingEvents:
    person: np.ndarray
    day: np.ndarray
    second: np.ndarray
    event_type: np.ndarray
    referred: np.ndarray  # person referred (-1 when not a referral)
    rating: np.ndarray  # review rating, 0 when not a review
    campaign: np.ndarray  # week number of the campaign send, -1 when none
    logged_in: np.ndarray


@dataclass
class Surveys:
    person: np.ndarray
    day: np.ndarray
    second: np.ndarray
    survey_type: np.ndarray  # 0 csat, 1 nps, 2 relationship
    touchpoint: np.ndarray  # 0 web, 1 store, 2 support, 3 delivery
    ticket: np.ndarray
    expectation: np.ndarray
    perceived: np.ndarray
    csat: np.ndarray
    nps: np.ndarray


@dataclass
class Schedule:
    first_day: int
    end_day: int
    orders: Orders
    tickets: Tickets
    ticket_versions: TicketVersions
    crm_records: CrmRecords
    crm_versions: CrmVersions
    marketing: MarketingEvents
    surveys: Surveys
    # per-person outcomes for the ground truth
    dropout_day: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    reactivated: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    first_order_day: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    next_purchase_day: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))  # after the window


def _seconds(rng: np.random.Generator, n: int, start_hour: float, end_hour: float) -> np.ndarray:
    return rng.integers(int(start_hour * 3600), int(end_hour * 3600), n).astype(np.int32)


def _evening_peak_seconds(rng: np.random.Generator, n: int) -> np.ndarray:
    """Web activity: any hour, with most between 08:00 and 23:00."""
    hours = np.clip(rng.normal(15.5, 4.5, n), 0, 23.999)
    return (hours * 3600).astype(np.int32)


def simulate_orders(
    rng: np.random.Generator, persons: Persons, first_day: int, end_day: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Run the purchase process; returns order person, time, bad-service flag, dropout day, reactivated and
    each person's next purchase day after the window (NEVER when gone or never active): the process has drawn
    it already, so the truth can say who buys after the window without a single extra draw."""
    n = persons.n
    existing = persons.join_day <= first_day
    rate = persons.purchase_rate
    t = np.where(
        existing,
        first_day + rng.exponential(1.0 / rate),
        persons.join_day + rng.uniform(0.0, 2.0, n),
    )
    gold = persons.planted == PLANTED_COHORTS.index("gold")
    # Gold customers and hidden gems are customers now (the truth says what they are in the window).
    stays = gold | persons.is_hidden_gem
    active = (~persons.is_prospect) & (np.where(existing, rng.random(n) < EXISTING_ALIVE_SHARE, True) | stays)
    dropout_day = np.full(n, NEVER, dtype=np.int32)
    dropout_day[(~persons.is_prospect) & ~active] = first_day
    reactivated = np.zeros(n, dtype=bool)
    leaver = persons.planted == PLANTED_COHORTS.index("complainer_who_leaves")
    declining = persons.planted == PLANTED_COHORTS.index("declining")
    decline_day = first_day + (end_day - first_day) / 2.0
    chunks_person: list[np.ndarray] = []
    chunks_time: list[np.ndarray] = []
    chunks_bad: list[np.ndarray] = []
    chunks_ticket: list[np.ndarray] = []
    idx = np.flatnonzero(active)
    while len(idx):
        idx = idx[t[idx] < end_day]
        if not len(idx):
            break
        chunks_person.append(idx.astype(np.int32))
        chunks_time.append(t[idx])
        ticket = rng.random(len(idx)) < persons.problem_prob[idx]
        bad = ticket & (rng.random(len(idx)) < BAD_SERVICE_SHARE)
        chunks_ticket.append(ticket)
        chunks_bad.append(bad)
        p_drop = persons.dropout_prob[idx]
        p_drop = np.where(bad, 1.0 - (1.0 - p_drop) * (1.0 - BAD_SERVICE_DROPOUT), p_drop)
        # planted gold customers stay (the most valuable get dedicated service: DOMAIN.md, Customize)
        p_drop = np.where(gold[idx], 0.0, p_drop)
        # planted complainers who leave: gone for good after the first problem handled badly
        p_drop = np.where(bad & leaver[idx], 1.0, p_drop)
        drop = rng.random(len(idx)) < p_drop
        back = drop & (rng.random(len(idx)) < REACTIVATION_SHARE) & ~(bad & leaver[idx])
        # planted decliners buy DECLINE_RATE_FACTOR as often from the middle of the window on
        slowed = declining[idx] & (t[idx] >= decline_day)
        gap = rng.exponential(1.0 / np.where(slowed, rate[idx] * DECLINE_RATE_FACTOR, rate[idx]))
        gap = np.where(back, gap + rng.uniform(*REACTIVATION_GAP_DAYS, len(idx)), gap)
        t[idx] = t[idx] + gap
        reactivated[idx[back & (t[idx] < end_day)]] = True
        gone = idx[drop & ~back]
        dropout_day[gone] = np.floor(t[gone] - gap[drop & ~back]).astype(np.int32)
        idx = idx[~(drop & ~back)]
    # still buying at the end: t is the next purchase, drawn after the last one in the window
    next_purchase_day = np.where(
        active & (dropout_day >= NEVER), np.minimum(np.floor(t), NEVER - 1), NEVER
    ).astype(np.int32)
    if chunks_person:
        person = np.concatenate(chunks_person)
        time = np.concatenate(chunks_time)
        bad = np.concatenate(chunks_bad)
        has_ticket = np.concatenate(chunks_ticket)
    else:
        person = np.zeros(0, np.int32)
        time = np.zeros(0)
        bad = has_ticket = np.zeros(0, bool)
    return person, time, np.stack([has_ticket, bad]), dropout_day, reactivated, next_purchase_day


def _order_tickets(
    rng: np.random.Generator, orders: Orders, has_ticket: np.ndarray, bad: np.ndarray, end_day: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Tickets raised about orders: (order index, category, open day, bad flag), within the window."""
    order_idx = np.flatnonzero(has_ticket)
    is_web = orders.is_web[order_idx]
    web_cat = rng.choice(6, size=len(order_idx), p=[0.35, 0.25, 0.10, 0.20, 0.05, 0.05])
    pos_cat = rng.choice(6, size=len(order_idx), p=[0.0, 0.50, 0.10, 0.30, 0.0, 0.10])
    category = np.where(is_web, web_cat, pos_cat).astype(np.int8)
    low = np.array([1, 3, 1, 5, 0, 0])[category]
    high = np.array([10, 30, 20, 20, 5, 5])[category]
    open_day = orders.day[order_idx] + rng.integers(low, high + 1)
    keep = open_day < end_day
    return order_idx[keep], category[keep], open_day[keep].astype(np.int32), bad[order_idx][keep]


def _ticket_details(
    rng: np.random.Generator,
    persons: Persons,
    person: np.ndarray,
    order: np.ndarray,
    category: np.ndarray,
    open_day: np.ndarray,
    bad: np.ndarray,
    from_store: np.ndarray,
) -> Tickets:
    m = len(person)
    claim = np.zeros(m, dtype=np.int8)
    for ci, options in enumerate(vocab.CLAIMS_BY_CATEGORY):
        mask = category == ci
        claim[mask] = np.array(options)[rng.integers(0, len(options), int(mask.sum()))]
    sla = np.array([c[2] for c in vocab.TICKET_CLAIMS])[claim]
    channel = np.where(
        from_store & (rng.random(m) < 0.5), 4, rng.choice(4, size=m, p=[0.32, 0.33, 0.28, 0.07])
    ).astype(np.int8)
    is_complaint = bad | (rng.random(m) < np.where(category <= 3, 0.35, 0.05))
    priority = np.where(
        is_complaint,
        rng.choice(4, size=m, p=[0.05, 0.45, 0.38, 0.12]),
        rng.choice(4, size=m, p=[0.2, 0.7, 0.08, 0.02]),
    ).astype(np.int8)
    response_hours = np.where(bad, rng.lognormal(np.log(30), 0.7, m), rng.lognormal(np.log(3), 0.9, m))
    breach = np.where(bad, rng.random(m) < 0.7, rng.random(m) < 0.08)
    ratio = np.where(breach, rng.uniform(1.1, 4.0, m), rng.uniform(0.05, 0.95, m))
    resolution_hours = np.maximum(sla * ratio, response_hours + 0.25)
    never = bad & ~breach & (rng.random(m) < 0.6)
    resolution_hours = np.where(never, np.inf, resolution_hours)
    claim_met = np.where(bad, rng.random(m) < 0.25, rng.random(m) < 0.9)
    reopened = np.where(bad, rng.random(m) < 0.3, rng.random(m) < 0.04)
    contact_count = (1 + rng.poisson(0.6, m) + np.where(bad, rng.poisson(2.0, m), 0)).astype(np.int16)
    sat_good = np.where(
        claim_met, rng.choice([3, 4, 5], size=m, p=[0.15, 0.4, 0.45]), rng.choice([2, 3, 4], size=m)
    )
    sat_bad = rng.choice([1, 2, 3], size=m, p=[0.6, 0.3, 0.1])
    satisfaction = np.where(bad | breach, np.minimum(sat_bad, sat_good), sat_good).astype(np.int8)
    has_email = np.asarray(persons.email.is_valid())[person]
    has_phone = np.asarray(persons.phone_e164.is_valid())[person]
    has_account = np.asarray(persons.account_id.is_valid())[person]
    use_email = has_email & (rng.random(m) < 0.85)
    use_phone = has_phone & (rng.random(m) < np.where(channel == 0, 0.9, 0.35))
    use_account = has_account & (rng.random(m) < 0.5)
    return Tickets(
        person=person.astype(np.int32),
        order=order.astype(np.int64),
        open_day=open_day.astype(np.int32),
        open_second=_seconds(rng, m, 7.5, 22),
        category=category.astype(np.int8),
        claim=claim,
        channel=channel,
        priority=priority,
        is_complaint=is_complaint,
        is_bad=bad,
        response_hours=response_hours,
        resolution_hours=resolution_hours,
        claim_met=claim_met,
        reopened=reopened,
        contact_count=contact_count,
        satisfaction=satisfaction,
        closed=rng.random(m) < 0.5,
        use_email=use_email,
        use_phone=use_phone,
        use_account=use_account,
        name_kind=rng.choice(5, size=m, p=[0.6, 0.12, 0.1, 0.1, 0.08]).astype(np.int8),
        email_kind=rng.choice(4, size=m, p=[0.8, 0.1, 0.06, 0.04]).astype(np.int8),
        phone_kind=rng.integers(0, 4, m).astype(np.int8),
    )


def _ticket_versions(rng: np.random.Generator, tickets: Tickets, end_day: int) -> TicketVersions:
    m = len(tickets)
    opened = tickets.open_day.astype(np.int64) * SECONDS_PER_DAY + tickets.open_second
    resolved = opened + np.where(np.isfinite(tickets.resolution_hours), tickets.resolution_hours * 3600, 1e15)
    responded = opened + tickets.response_hours * 3600
    end = end_day * SECONDS_PER_DAY
    index = np.arange(m)
    is_resolved = resolved < end
    is_pending = ~is_resolved & (responded < end) & (responded // SECONDS_PER_DAY > opened // SECONDS_PER_DAY)
    ticket = np.concatenate([index, index[is_pending], index[is_resolved]])
    stamp = np.concatenate(
        [opened + rng.integers(0, 120, m), responded[is_pending], resolved[is_resolved] + 60]
    )
    stamp = np.minimum(stamp.astype(np.int64), end - 1)
    stage = np.concatenate([np.zeros(m), np.ones(int(is_pending.sum())), np.full(int(is_resolved.sum()), 2)])
    order = np.lexsort((stage, ticket, stamp))
    return TicketVersions(
        ticket=ticket[order].astype(np.int64),
        day=(stamp[order] // SECONDS_PER_DAY).astype(np.int32),
        second=(stamp[order] % SECONDS_PER_DAY).astype(np.int32),
        stage=stage[order].astype(np.int8),
    )


def _crm(
    rng: np.random.Generator, persons: Persons, first_day: int, end_day: int
) -> tuple[CrmRecords, CrmVersions]:
    days = end_day - first_day
    primary = np.flatnonzero(persons.has_crm)
    dups = np.flatnonzero(persons.has_crm_duplicate)
    person = np.concatenate([primary, dups]).astype(np.int32)
    is_dup = np.concatenate([np.zeros(len(primary), bool), np.ones(len(dups), bool)])
    r = len(person)
    created = persons.join_day[person].astype(np.int64)
    dup_created = np.where(
        rng.random(r) < 0.5, rng.integers(first_day, end_day, r), first_day - rng.integers(1, 600, r)
    )
    created = np.where(is_dup, np.maximum(dup_created, created), created).astype(np.int32)
    created_second = _seconds(rng, r, 8, 21)
    records = CrmRecords(
        person=person,
        created_day=created,
        created_second=created_second,
        is_duplicate=is_dup,
        name_kind=np.where(
            is_dup,
            rng.choice(5, size=r, p=[0.2, 0.3, 0.2, 0.2, 0.1]),
            rng.choice(5, size=r, p=[0.8, 0.05, 0.03, 0.07, 0.05]),
        ).astype(np.int8),
        email_kind=np.where(
            is_dup,
            rng.choice(4, size=r, p=[0.3, 0.2, 0.3, 0.2]),
            rng.choice(4, size=r, p=[0.9, 0.06, 0.03, 0.01]),
        ).astype(np.int8),
        phone_kind=rng.integers(0, 4, r).astype(np.int8),
        use_generic_email=np.asarray(persons.generic_email.is_valid())[person] & (rng.random(r) < 0.7),
        use_placeholder_phone=np.asarray(persons.placeholder_phone.is_valid())[person]
        & (rng.random(r) < 0.7),
        use_landline=np.asarray(persons.landline_variants[0].is_valid())[person] & (rng.random(r) < 0.5),
        country_as_name=rng.random(r) < 0.15,
    )
    # Versions: creation (or the initial extract for contacts created before the window) and changes.
    in_window = created >= first_day
    extract_updated = np.maximum(created, first_day - rng.integers(1, 360, r))
    rec = [np.arange(r)]
    day = [np.where(in_window, created, extract_updated)]
    sec = [np.where(in_window, created_second, _seconds(rng, r, 8, 18))]
    kind = [np.where(in_window, CRM_CREATED, CRM_EXTRACT)]
    main = ~is_dup
    for change_day, code in (
        (persons.email_change_day[person], CRM_EMAIL_CHANGE),
        (persons.move_day[person], CRM_MOVE),
        (
            np.minimum(persons.unsubscribe_day[person].astype(np.int64) + rng.integers(0, 2, r), NEVER),
            CRM_OPT_OUT,
        ),
    ):
        sel = np.flatnonzero(
            main & (change_day < end_day) & (change_day > np.maximum(created, first_day - 1))
        )
        rec.append(sel)
        day.append(change_day[sel])
        sec.append(_seconds(rng, len(sel), 8, 20))
        kind.append(np.full(len(sel), code))
    touches = rng.poisson(CRM_TOUCH_UPDATES_PER_YEAR * days / 365.0, r)
    touch_rec = np.repeat(np.arange(r), touches)
    touch_day = rng.integers(np.maximum(created[touch_rec] + 1, first_day), end_day + 1)
    keep = touch_day < end_day
    rec.append(touch_rec[keep])
    day.append(touch_day[keep])
    sec.append(_seconds(rng, int(keep.sum()), 8, 20))
    kind.append(np.full(int(keep.sum()), CRM_TOUCH))
    rec_all = np.concatenate(rec)
    day_all = np.concatenate(day).astype(np.int32)
    sec_all = np.concatenate(sec).astype(np.int32)
    kind_all = np.concatenate(kind).astype(np.int8)
    # Deleted contacts: a final deletion version; nothing after it.
    deleted = main & persons.is_deleted[person]
    del_day = np.full(r, NEVER, dtype=np.int64)
    del_day[deleted] = rng.integers(np.maximum(created[deleted] + 1, first_day), end_day + 1)
    keep = day_all < del_day[rec_all]
    rec_all, day_all, sec_all, kind_all = rec_all[keep], day_all[keep], sec_all[keep], kind_all[keep]
    sel = np.flatnonzero(del_day < end_day)
    rec_all = np.concatenate([rec_all, sel])
    day_all = np.concatenate([day_all, del_day[sel].astype(np.int32)])
    sec_all = np.concatenate([sec_all, _seconds(rng, len(sel), 8, 20)])
    kind_all = np.concatenate([kind_all, np.full(len(sel), CRM_DELETE, np.int8)])
    # Two versions of one record never share a timestamp (the contract key is contact_id + updated_at).
    order = np.lexsort((kind_all, sec_all, day_all, rec_all))
    rec_all, day_all, sec_all, kind_all = rec_all[order], day_all[order], sec_all[order], kind_all[order]
    clash = np.zeros(len(rec_all), bool)
    clash[1:] = (rec_all[1:] == rec_all[:-1]) & (day_all[1:] == day_all[:-1]) & (sec_all[1:] <= sec_all[:-1])
    sec_all = np.where(
        clash, np.minimum(sec_all + 1 + np.arange(len(sec_all)) % 7, SECONDS_PER_DAY - 1), sec_all
    )
    final = np.lexsort((rec_all, sec_all, day_all))
    versions = CrmVersions(
        record=rec_all[final].astype(np.int64),
        day=day_all[final],
        second=sec_all[final].astype(np.int32),
        kind=kind_all[final],
    )
    return records, versions


def _marketing(
    rng: np.random.Generator,
    persons: Persons,
    orders: Orders,
    tickets: Tickets,
    first_order_day: np.ndarray,
    first_day: int,
    end_day: int,
) -> MarketingEvents:
    n = persons.n
    days = end_day - first_day
    parts: list[tuple[np.ndarray, ...]] = []

    def add(
        person: np.ndarray,
        moment: np.ndarray,
        event: int,
        referred: np.ndarray | None = None,
        rating: np.ndarray | None = None,
        campaign: np.ndarray | None = None,
    ) -> None:
        k = len(person)
        parts.append(
            (
                person.astype(np.int32),
                moment.astype(np.int64),
                np.full(k, event, np.int8),
                referred if referred is not None else np.full(k, -1, np.int64),
                rating if rating is not None else np.zeros(k, np.int8),
                campaign.astype(np.int32) if campaign is not None else np.full(k, -1, np.int32),
            )
        )

    # Sends to opted-in addresses until they unsubscribe; opens, clicks, visits follow.
    subscribed = persons.email_opt_in
    stop = np.minimum(persons.unsubscribe_day, end_day).astype(np.int64)
    start = np.maximum(persons.join_day, first_day).astype(np.int64)
    exposure = np.where(subscribed, np.maximum(stop - start, 0), 0)
    sends = rng.poisson(SENDS_PER_YEAR * exposure / 365.0)
    send_person = np.repeat(np.arange(n), sends)
    send_day = start[send_person] + np.floor(rng.random(len(send_person)) * exposure[send_person]).astype(
        np.int64
    )
    send_time = send_day * SECONDS_PER_DAY + _seconds(rng, len(send_person), 6, 10)
    week = (send_day // 7).astype(np.int32)
    add(send_person, send_time, 0, campaign=week)
    opened = rng.random(len(send_person)) < persons.open_prob[send_person]
    open_time = send_time[opened] + (rng.exponential(3 * 3600, int(opened.sum()))).astype(np.int64)
    open_person, open_week = send_person[opened], week[opened]
    add(open_person, open_time, 1, campaign=open_week)
    clicked = rng.random(len(open_person)) < persons.click_prob[open_person]
    click_time = open_time[clicked] + rng.integers(5, 600, int(clicked.sum()))
    add(open_person[clicked], click_time, 2, campaign=open_week[clicked])
    add(
        open_person[clicked],
        click_time + rng.integers(2, 30, int(clicked.sum())),
        3,
        campaign=open_week[clicked],
    )
    # Organic visits, more for active buyers.
    activity = 0.5 + persons.purchase_rate * 365.0 / 7.4
    visits = rng.poisson(ORGANIC_VISITS_PER_YEAR * activity * days / 365.0)
    visit_person = np.repeat(np.arange(n), visits)
    visit_day = rng.integers(np.maximum(persons.join_day[visit_person], first_day), end_day)
    add(
        visit_person,
        visit_day.astype(np.int64) * SECONDS_PER_DAY + _evening_peak_seconds(rng, len(visit_person)),
        3,
    )
    # Unsubscribes, consistent with the CRM opt-out.
    unsub = np.flatnonzero(persons.unsubscribe_day < end_day)
    add(
        unsub,
        persons.unsubscribe_day[unsub].astype(np.int64) * SECONDS_PER_DAY + _seconds(rng, len(unsub), 7, 23),
        9,
    )
    # Social mentions and shares: mostly people with a handle, hidden gems far more often.
    has_handle = np.asarray(persons.social_handle.is_valid())
    for event, (gem_rate, rate) in ((4, (14.0, 0.3)), (5, (10.0, 0.4))):
        count = rng.poisson(
            np.where(persons.is_hidden_gem, gem_rate, np.where(has_handle, rate, 0.0)) * days / 365.0
        )
        who = np.repeat(np.arange(n), count)
        when = rng.integers(first_day, end_day, len(who)).astype(np.int64) * SECONDS_PER_DAY
        add(who, when + _evening_peak_seconds(rng, len(who)), event)
    # Referrals: new persons referred by a hidden gem or a random buyer, converted at their first order.
    referred = np.flatnonzero((persons.join_day > first_day) & (rng.random(n) < REFERRED_SHARE))
    referred = referred[np.asarray(persons.email.is_valid())[referred]]
    gems = np.flatnonzero(persons.is_hidden_gem & np.asarray(persons.email.is_valid()))
    buyers = np.flatnonzero(~persons.is_prospect & np.asarray(persons.email.is_valid()))
    if len(referred) and len(buyers):
        # Half of the referrals come from the few hidden gems (when there are any).
        from_gem = (rng.random(len(referred)) < 0.5) & (len(gems) > 0)
        gem_pick = (
            gems[rng.integers(0, len(gems), len(referred))] if len(gems) else np.zeros(len(referred), int)
        )
        buyer_pick = buyers[rng.integers(0, len(buyers), len(referred))]
        referrer = np.where(from_gem, gem_pick, buyer_pick)
        ok = referrer != referred
        referrer, referred = referrer[ok], referred[ok]
        ref_day = np.maximum(persons.join_day[referred] - rng.integers(1, 20, len(referred)), first_day)
        add(
            referrer,
            ref_day.astype(np.int64) * SECONDS_PER_DAY + _evening_peak_seconds(rng, len(referred)),
            6,
            referred=referred.astype(np.int64),
        )
        converted = first_order_day[referred] < end_day
        conv_day = first_order_day[referred][converted].astype(np.int64)
        add(
            referrer[converted],
            conv_day * SECONDS_PER_DAY + _seconds(rng, int(converted.sum()), 20, 23.9),
            7,
            referred=referred[converted].astype(np.int64),
        )
    # Reviews after orders; ratings follow the service the order got.
    reviewed = np.flatnonzero(rng.random(len(orders)) < np.where(orders.ticket >= 0, 0.4, REVIEW_SHARE))
    reviewed = reviewed[orders.status[reviewed] != STATUS_CANCELLED]
    review_day = orders.day[reviewed].astype(np.int64) + rng.integers(3, 21, len(reviewed))
    keep = review_day < end_day
    reviewed, review_day = reviewed[keep], review_day[keep]
    ticket = orders.ticket[reviewed]
    bad = np.where(ticket >= 0, tickets.is_bad[np.maximum(ticket, 0)] if len(tickets) else False, False)
    rating = np.where(
        bad,
        rng.choice([1, 2], size=len(reviewed), p=[0.7, 0.3]),
        np.where(
            ticket >= 0,
            rng.choice([2, 3, 4], size=len(reviewed)),
            rng.choice([3, 4, 5], size=len(reviewed), p=[0.15, 0.4, 0.45]),
        ),
    ).astype(np.int8)
    add(
        orders.person[reviewed],
        review_day * SECONDS_PER_DAY + _evening_peak_seconds(rng, len(reviewed)),
        8,
        rating=rating,
    )

    person, moment, event, ref, rating_all, campaign = (
        np.concatenate([p[i] for p in parts]) for i in range(6)
    )
    keep = moment < end_day * SECONDS_PER_DAY
    order = np.lexsort((event, person, moment))
    order = order[keep[order]]
    return MarketingEvents(
        person=person[order],
        day=(moment[order] // SECONDS_PER_DAY).astype(np.int32),
        second=(moment[order] % SECONDS_PER_DAY).astype(np.int32),
        event_type=event[order],
        referred=ref[order],
        rating=rating_all[order],
        campaign=campaign[order],
        logged_in=rng.random(len(order)) < 0.7,
    )


def _surveys(
    rng: np.random.Generator,
    persons: Persons,
    orders: Orders,
    tickets: Tickets,
    versions: TicketVersions,
    first_day: int,
    end_day: int,
) -> Surveys:
    n = persons.n
    days = end_day - first_day
    # After resolved tickets.
    resolved = versions.stage == 2
    t_idx = versions.ticket[resolved]
    answer = rng.random(len(t_idx)) < np.where(tickets.is_bad[t_idx], 0.45, TICKET_SURVEY_SHARE)
    t_idx = t_idx[answer]
    t_time = (
        versions.day[resolved][answer].astype(np.int64) * SECONDS_PER_DAY
        + versions.second[resolved][answer]
        + rng.integers(3600, 48 * 3600, len(t_idx))
    )
    # After orders.
    o_idx = np.flatnonzero(
        (rng.random(len(orders)) < ORDER_SURVEY_SHARE) & (orders.status != STATUS_CANCELLED)
    )
    o_time = (
        orders.day[o_idx].astype(np.int64) + rng.integers(1, 8, len(o_idx))
    ) * SECONDS_PER_DAY + _seconds(rng, len(o_idx), 7, 23)
    # Relationship / NPS surveys to random persons with an e-mail address.
    has_email = np.asarray(persons.email.is_valid())
    count = rng.poisson(np.where(has_email, RELATIONSHIP_SURVEYS_PER_YEAR * days / 365.0, 0.0))
    r_person = np.repeat(np.arange(n), count)
    r_start = np.maximum(persons.join_day[r_person], first_day)
    r_time = rng.integers(r_start, end_day, len(r_person)).astype(np.int64) * SECONDS_PER_DAY + _seconds(
        rng, len(r_person), 7, 23
    )

    person = np.concatenate([tickets.person[t_idx], orders.person[o_idx], r_person]).astype(np.int32)
    moment = np.concatenate([t_time, o_time, r_time])
    ticket = np.concatenate([t_idx, np.full(len(o_idx) + len(r_person), -1)]).astype(np.int64)
    survey_type = np.concatenate(
        [
            np.zeros(len(t_idx)),
            rng.choice(2, size=len(o_idx), p=[0.8, 0.2]),
            rng.choice([1, 2], size=len(r_person)),
        ]
    ).astype(np.int8)
    order_touch = np.where(orders.is_web[o_idx], np.where(rng.random(len(o_idx)) < 0.5, 0, 3), 1)
    touchpoint = np.concatenate([np.full(len(t_idx), 2), order_touch, np.full(len(r_person), -1)]).astype(
        np.int8
    )
    # Experience: bad service lowers the perceived score; a bad ticket before the survey lingers.
    order_ticket = orders.ticket[o_idx]
    order_bad = np.where(
        order_ticket >= 0, tickets.is_bad[np.maximum(order_ticket, 0)] if len(tickets) else False, False
    )
    first_bad = np.full(n, NEVER, dtype=np.int64)
    bad_t = np.flatnonzero(tickets.is_bad)
    np.minimum.at(first_bad, tickets.person[bad_t], tickets.open_day[bad_t].astype(np.int64))
    day_of = moment // SECONDS_PER_DAY
    lingering = first_bad[person] < day_of
    bad_now = np.concatenate([tickets.is_bad[t_idx], order_bad, np.zeros(len(r_person), bool)])
    met = np.concatenate([tickets.claim_met[t_idx], np.ones(len(o_idx) + len(r_person), bool)])
    expectation = np.clip(persons.expectation[person] + rng.integers(-1, 2, len(person)), 1, 10)
    shift = np.where(bad_now, -3.5, np.where(lingering, -2.0, 0.4)) + np.where(met, 0.0, -1.0)
    perceived = np.clip(np.rint(expectation + shift + rng.normal(0, 1.2, len(person))), 1, 10)
    gap = perceived - expectation
    csat = np.clip(np.rint(3.6 + 0.55 * gap + rng.normal(0, 0.6, len(person))), 1, 5)
    nps = np.clip(np.rint(7.2 + 0.9 * gap + rng.normal(0, 1.2, len(person))), 0, 10)
    keep = moment < end_day * SECONDS_PER_DAY
    order = np.lexsort((person, moment))
    order = order[keep[order]]
    return Surveys(
        person=person[order],
        day=(moment[order] // SECONDS_PER_DAY).astype(np.int32),
        second=(moment[order] % SECONDS_PER_DAY).astype(np.int32),
        survey_type=survey_type[order],
        touchpoint=touchpoint[order],
        ticket=ticket[order],
        expectation=expectation[order].astype(np.int8),
        perceived=perceived[order].astype(np.int8),
        csat=csat[order].astype(np.int8),
        nps=nps[order].astype(np.int8),
    )


def build_schedule(rng: np.random.Generator, persons: Persons, first_day: int, days: int) -> Schedule:
    """Simulate the window ``[first_day, first_day + days)`` for every person."""
    end_day = first_day + days
    o_person, o_time, flags, dropout_day, reactivated, next_purchase_day = simulate_orders(
        rng, persons, first_day, end_day
    )
    has_ticket, bad = flags
    order = np.lexsort((o_person, o_time))
    o_person, o_time, has_ticket, bad = o_person[order], o_time[order], has_ticket[order], bad[order]
    m = len(o_person)
    day = np.floor(o_time).astype(np.int32)
    is_web = rng.random(m) < persons.web_share[o_person]
    second = np.where(is_web, _evening_peak_seconds(rng, m), _seconds(rng, m, 9, 21)).astype(np.int32)
    status = np.zeros(m, np.int8)
    u = rng.random(m)
    costly = persons.planted[o_person] == PLANTED_COHORTS.index("costly")
    return_prob = (
        np.where(is_web, WEB_RETURN_SHARE, POS_RETURN_SHARE)
        + np.where(has_ticket, 0.25, 0.0)
        + np.where(costly, COSTLY_RETURN_SHARE, 0.0)
    )
    cancel_prob = np.where(is_web, WEB_CANCEL_SHARE, POS_VOID_SHARE)
    status[u < cancel_prob] = STATUS_CANCELLED
    status[(u >= cancel_prob) & (u < cancel_prob + return_prob)] = STATUS_RETURNED
    # Store returns come back within a few weeks, web returns within the 30-day return window.
    return_after = np.where(is_web, rng.integers(2, 31, m), rng.integers(1, 22, m))
    return_day = np.where(status == STATUS_RETURNED, day + return_after, NEVER).astype(np.int64)
    status[(status == STATUS_RETURNED) & (return_day >= end_day)] = STATUS_COMPLETED
    return_day = np.where(status == STATUS_RETURNED, return_day, NEVER).astype(np.int32)
    pending = (
        is_web
        & (day >= end_day - 2)
        & (status == STATUS_COMPLETED)
        & (rng.random(m) < PENDING_SHARE_LAST_DAYS)
    )
    status[pending] = STATUS_PENDING
    value = (rng.gamma(3.0, 1.0, m) / 3.0 * persons.order_value[o_person]).astype(np.float32)
    orders = Orders(o_person, day, second, is_web, status, return_day, value, np.full(m, -1, np.int64))

    t_order, t_cat, t_day, t_bad = _order_tickets(rng, orders, has_ticket, bad, end_day)
    costly_person = persons.planted == PLANTED_COHORTS.index("costly")
    general = rng.poisson(
        (
            GENERAL_TICKETS_PER_YEAR * (1 + 5 * persons.problem_prob)
            + np.where(costly_person, COSTLY_GENERAL_TICKETS_PER_YEAR, 0.0)
        )
        * days
        / 365.0
    )
    g_person = np.repeat(np.arange(persons.n), general).astype(np.int32)
    g_cat = rng.choice([2, 4, 5], size=len(g_person), p=[0.3, 0.3, 0.4]).astype(np.int8)
    g_day = rng.integers(np.maximum(persons.join_day[g_person], first_day), end_day).astype(np.int32)
    person = np.concatenate([orders.person[t_order], g_person])
    t_order_all = np.concatenate([t_order, np.full(len(g_person), -1)])
    tickets = _ticket_details(
        rng,
        persons,
        person,
        t_order_all,
        np.concatenate([t_cat, g_cat]),
        np.concatenate([t_day, g_day]),
        np.concatenate([t_bad, np.zeros(len(g_person), bool)]),
        np.concatenate([~orders.is_web[t_order], np.zeros(len(g_person), bool)]),
    )
    t_sort = np.lexsort((tickets.person, tickets.open_second, tickets.open_day))
    tickets = Tickets(**{k: v[t_sort] for k, v in vars(tickets).items()})
    linked = tickets.order >= 0
    orders.ticket[tickets.order[linked]] = np.flatnonzero(linked)
    versions = _ticket_versions(rng, tickets, end_day)

    first_order_day = np.full(persons.n, NEVER, dtype=np.int32)
    np.minimum.at(first_order_day, orders.person, orders.day)
    crm_records, crm_versions = _crm(rng, persons, first_day, end_day)
    marketing = _marketing(rng, persons, orders, tickets, first_order_day, first_day, end_day)
    surveys = _surveys(rng, persons, orders, tickets, versions, first_day, end_day)
    return Schedule(
        first_day=first_day,
        end_day=end_day,
        orders=orders,
        tickets=tickets,
        ticket_versions=versions,
        crm_records=crm_records,
        crm_versions=crm_versions,
        marketing=marketing,
        surveys=surveys,
        dropout_day=dropout_day,
        reactivated=reactivated,
        first_order_day=first_order_day,
        next_purchase_day=next_purchase_day,
    )
