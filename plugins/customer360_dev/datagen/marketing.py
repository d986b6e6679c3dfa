"""``marketing_events``: sends, opens, clicks, visits, social mentions, shares, referrals, reviews, opt-outs.

E-mail events carry the address the person is subscribed with; visits carry the web account when the
visitor was logged in; social events carry the handle and follower count; referrals carry the referrer's
address and the referred person's address.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from customer360_dev.datagen import identifiers as ids
from customer360_dev.datagen import vocab
from customer360_dev.datagen.batch import Batch
from customer360_dev.datagen.behaviour import EVENT_TYPES, Schedule
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

SHOP_URL = "https://shop.example.com"
# marketing channel per event type: email, sms, social, web, push
EVENT_CHANNEL = {
    "send": 0,
    "open": 0,
    "click": 0,
    "visit": 3,
    "social_mention": 2,
    "share": 2,
    "referral": 0,
    "referral_converted": 3,
    "review": 3,
    "unsubscribe": 0,
}
MARKETING_CHANNELS = ("email", "sms", "social", "web", "push")


class MarketingEvents:
    def __init__(self, persons: Persons, schedule: Schedule) -> None:
        self.persons = persons
        self.schedule = schedule
        self.bounds = np.searchsorted(
            schedule.marketing.day, np.arange(schedule.first_day, schedule.end_day + 1)
        )

    def build(self, day: int, rng: np.random.Generator) -> Batch | None:
        s, p = self.schedule, self.persons
        i = day - s.first_day
        lo, hi = int(self.bounds[i]), int(self.bounds[i + 1])
        if hi == lo:
            return None
        ev = s.marketing
        r = np.arange(lo, hi)
        k = len(r)
        person = ev.person[r]
        etype = ev.event_type[r]

        def is_(*names: str) -> np.ndarray:
            return np.isin(etype, [EVENT_TYPES.index(n) for n in names])

        mail = is_("send", "open", "click", "unsubscribe", "referral", "referral_converted")
        social = is_("social_mention", "share")
        review = is_("review")
        visit = is_("visit")
        channel = np.array([EVENT_CHANNEL[e] for e in EVENT_TYPES])[etype]
        sms = is_("send") & p.sms_opt_in[person] & (rng.random(k) < 0.1)
        channel = np.where(sms, 1, channel)
        push = visit & (rng.random(k) < 0.05)
        channel = np.where(push, 4, channel)
        email = ids.emails(p, person, np.where(rng.random(k) < 0.95, 0, 1), day)
        review_by_account = review & (rng.random(k) < 0.7) & np.asarray(take(p.account_id, person).is_valid())
        email_on = (mail & ~sms) | (review & ~review_by_account) | (social & (rng.random(k) < 0.1))
        account_on = (visit & ev.logged_in[r]) | review_by_account
        referred = ev.referred[r]
        referred_email = ids.emails(p, np.maximum(referred, 0), np.where(rng.random(k) < 0.8, 0, 1), day)
        week = ev.campaign[r]
        campaign = concat(
            "CMP-",
            pc.strftime(pa.array((np.maximum(week, 0) * 7).astype("datetime64[D]")), format="%G-W%V"),
        )
        followers = p.followers[person] * (1.0 + (day - s.first_day) / 365.0 * 0.2)
        network = take(strings(list(vocab.SOCIAL_NETWORKS)), person % len(vocab.SOCIAL_NETWORKS))
        handle = take(p.social_handle, person)
        social_url = concat(
            "https://", network, "/", pc.utf8_slice_codeunits(handle, 1, 64), "/", int_text(r)
        )
        page = take(
            strings(["/", "/sale", "/new", "/c/electronics", "/c/fashion", "/c/home_kitchen", "/account"]),
            rng.integers(0, 7, k),
        )
        url = pc.if_else(pa.array(social), social_url, concat(SHOP_URL, page))
        url = pc.if_else(
            pa.array(review), concat(SHOP_URL, "/review/", int_text(rng.integers(1, 10**6, k))), url
        )
        url = with_nulls(url, mail)
        columns = {
            "event_id": concat("EV", int_text(r + 1, 10)),
            "event_at": iso_text(to_datetime64(ev.day[r], ev.second[r]), "Z"),
            "event_type": take(strings(list(EVENT_TYPES)), etype),
            "channel": take(strings(list(MARKETING_CHANNELS)), channel),
            "campaign_id": with_nulls(campaign, week < 0),
            "account_id": with_nulls(take(p.account_id, person), ~account_on),
            "email": with_nulls(email, ~email_on),
            "social_handle": with_nulls(handle, ~social),
            "followers": with_nulls(int_text(followers.astype(np.int64)), ~social),
            "rating": with_nulls(int_text(ev.rating[r]), ~review),
            "referred_email": with_nulls(referred_email, referred < 0),
            "url": url,
        }
        identifies = np.asarray(pc.is_valid(columns["email"])) | np.asarray(
            pc.is_valid(columns["account_id"])
        )
        return Batch(columns=columns, person=person, record_id=columns["event_id"], in_truth=identifies)
