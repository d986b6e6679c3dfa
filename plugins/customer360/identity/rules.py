"""The identity rule set: everything that decides who is the same customer, with a version and a hash.

Each resolution run records the rule set's version and hash in ``identity.resolution_runs``. When a rule
changes (the blocklist, a threshold, a guard limit, the match model's version), the hash changes, and the
splits and merges that the change causes are recorded against it in ``identity.customer_merge_history``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from customer360.identity.blocklist import Blocklist
from customer360.identity.clustering import Guard
from customer360.identity.edges import ALL_RULES
from customer360.identity.match_model import MatchModel
from customer360.identity.normalize_email import EMAIL_RULES_VERSION
from customer360.identity.normalize_name import NAME_RULES_VERSION
from customer360.identity.normalize_phone import PHONE_RULES_VERSION
from customer360.identity.phone_regions import channel_regions
from customer360.settings import Settings

RULESET_VERSION = "2.0"

# Guards on identifiers that a person holds only one of. 0 switches a guard off. Candidates for Settings.
DEFAULT_MAX_ACCOUNT_IDS_PER_CUSTOMER = 1
DEFAULT_MAX_LOYALTY_IDS_PER_CUSTOMER = 1


@dataclass(frozen=True)
class RuleSet:
    version: str
    hash: str
    description: str  # canonical JSON of everything hashed


def guards_for(
    settings: Settings,
    max_account_ids: int = DEFAULT_MAX_ACCOUNT_IDS_PER_CUSTOMER,
    max_loyalty_ids: int = DEFAULT_MAX_LOYALTY_IDS_PER_CUSTOMER,
) -> tuple[Guard, ...]:
    return (
        Guard("emails", settings.max_emails_per_customer),
        Guard("phones", settings.max_phones_per_customer),
        Guard("birth_dates", settings.identity_max_birth_dates_per_customer),
        Guard("account_ids", max_account_ids),
        Guard("loyalty_ids", max_loyalty_ids),
    )


def build_ruleset(
    settings: Settings,
    blocklist: Blocklist,
    guards: tuple[Guard, ...],
    max_block_size: int,
    model: MatchModel | None = None,
) -> RuleSet:
    from customer360.identity.model_store import model_fingerprint

    content = {
        "version": RULESET_VERSION,
        "rules": [[r.name, r.priority] for r in ALL_RULES],
        "normalisers": [EMAIL_RULES_VERSION, PHONE_RULES_VERSION, NAME_RULES_VERSION],
        "default_phone_region": settings.default_phone_region,
        "blocklist": blocklist.fingerprint(),
        "guards": [[g.name, g.limit] for g in guards],
        "match_threshold": settings.match_threshold,
        "max_block_size": max_block_size,
        "channel_phone_regions": channel_regions(settings),
        "max_people_per_value": settings.identity_max_people_per_value,
        "model": model_fingerprint(model) if model is not None else None,
    }
    description = json.dumps(content, sort_keys=True, ensure_ascii=False)
    return RuleSet(RULESET_VERSION, hashlib.sha256(description.encode()).hexdigest()[:16], description)
