"""Email validation and normalisation, vectorised with Arrow and computed once per distinct value.

Rules, in order:

1. NFKC, trim, lower case; an empty string is missing.
2. Syntax: ``local@domain`` with a dot-atom local part (letters, digits and ``!#$%&'*+/=?^_`{|}~-``, dots
   only between characters, at most 64 characters), a domain of dot-separated labels ending in a top-level
   domain of two or more letters, and at most 254 characters in all. Anything else is invalid:
   ``email_normalized`` is null and ``email_is_valid`` false.
3. Provider rules (only where the provider documents that the variants reach the same mailbox):

   ============================================  ================================================
   domain                                        rule
   ============================================  ================================================
   ``gmail.com``, ``googlemail.com``             domain becomes ``gmail.com``; dots in the local part
                                                 are ignored; ``+tag`` is dropped
   ``outlook``/``hotmail``/``live``/``msn``      ``+tag`` is dropped; dots are kept
   (``.com``, country domains, ``.co.uk``)
   every other domain                            kept as written (dots and ``+`` are significant)
   ============================================  ================================================

4. Matching: a valid email links records unless it is a role or generic mailbox (its local part before any
   ``+tag`` is in the blocklist: ``info``, ``sales``, ``noreply``, ...) or its domain is blocked
   (``example.com``). Such emails are still stored normalised; they only carry no identity evidence.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from customer360.identity.blocklist import Blocklist
from customer360.identity.distinct import apply_by_distinct, as_string_array

_ATOM = r"[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+"
EMAIL_PATTERN = (
    rf"^{_ATOM}(\.{_ATOM})*@([\p{{L}}\p{{N}}]([\p{{L}}\p{{N}}-]*[\p{{L}}\p{{N}}])?\.)+\p{{L}}{{2,63}}$"
)
MAX_EMAIL_LENGTH = 254
MAX_LOCAL_PART_LENGTH = 64

GMAIL_DOMAINS = ("gmail.com", "googlemail.com")
GMAIL_CANONICAL_DOMAIN = "gmail.com"
MICROSOFT_DOMAIN_PATTERN = r"^(outlook|hotmail|live|msn)\.(com|[a-z]{2}|co\.uk|com\.[a-z]{2})$"

# Part of the identity rule-set hash: change it when the provider rules above change.
EMAIL_RULES_VERSION = "email-v2: gmail dots+tags, googlemail alias, microsoft tags, provider typos"
# Mail providers whose domain a one-letter typo (``gmial.com``, ``zigo.nl``) is corrected to: a domain not in
# this list that is one edit (Damerau-Levenshtein) from exactly one of them becomes that domain.
KNOWN_EMAIL_DOMAINS = tuple(
    sorted(
        "gmail.com googlemail.com mail.com gmx.com gmx.de gmx.net gmx.at web.de hotmail.com hotmail.nl "
        "hotmail.de hotmail.fr hotmail.be hotmail.co.uk outlook.com outlook.de outlook.fr outlook.be "
        "outlook.nl "
        "live.com live.nl live.de live.fr live.be live.co.uk msn.com yahoo.com yahoo.de yahoo.fr yahoo.co.uk "
        "ymail.com icloud.com me.com aol.com proton.me protonmail.com ziggo.nl kpnmail.nl kpnplanet.nl "
        "planet.nl "
        "home.nl xs4all.nl telenet.be skynet.be orange.fr free.fr laposte.net t-online.de freenet.de qq.com "
        "163.com 126.com foxmail.com sina.com btinternet.com sky.com".split()
    )
)

EMAIL_COLUMNS = ("email_normalized", "email_is_valid", "email_is_matchable")


def normalize_emails(values: object, blocklist: Blocklist) -> pa.Table:
    """Normalise emails: one output row per input row with ``email_normalized`` (string or null),
    ``email_is_valid`` (false for missing or invalid) and ``email_is_matchable`` (valid and not
    blocklisted)."""
    return apply_by_distinct(
        as_string_array(values), lambda distinct: _normalize_distinct(distinct, blocklist)
    )


def normalize_email(value: str | None, blocklist: Blocklist) -> tuple[str | None, bool, bool]:
    """One email, for tests and ad-hoc use: ``(normalized, is_valid, is_matchable)``."""
    row = normalize_emails([value], blocklist).to_pylist()[0]
    return row["email_normalized"], row["email_is_valid"], row["email_is_matchable"]


def _normalize_distinct(raw: pa.Array, blocklist: Blocklist) -> pa.Table:
    text = pc.utf8_lower(pc.utf8_trim_whitespace(pc.utf8_normalize(raw, "NFKC")))
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    parts = pc.extract_regex(text, r"^(?P<local>.*)@(?P<domain>[^@]*)$")
    local = pc.struct_field(parts, "local")
    domain = pc.struct_field(parts, "domain")
    valid = pc.and_kleene(
        pc.match_substring_regex(text, EMAIL_PATTERN),
        pc.and_kleene(
            pc.less_equal(pc.utf8_length(text), MAX_EMAIL_LENGTH),
            pc.less_equal(pc.utf8_length(local), MAX_LOCAL_PART_LENGTH),
        ),
    )
    valid = pc.fill_null(valid, False)

    domain = corrected_domains(domain)
    is_gmail = pc.fill_null(pc.is_in(domain, value_set=pa.array(GMAIL_DOMAINS)), False)
    is_microsoft = pc.fill_null(pc.match_substring_regex(domain, MICROSOFT_DOMAIN_PATTERN), False)
    untagged = pc.replace_substring_regex(local, r"\+.*$", "")
    gmail_local = pc.replace_substring(untagged, ".", "")
    norm_local = pc.if_else(is_gmail, gmail_local, pc.if_else(is_microsoft, untagged, local))
    norm_domain = pc.if_else(is_gmail, pa.scalar(GMAIL_CANONICAL_DOMAIN), domain)
    normalized = pc.binary_join_element_wise(norm_local, norm_domain, "@")
    normalized = pc.if_else(valid, normalized, pa.scalar(None, pa.string()))

    role_local = pc.replace_substring_regex(local, r"\+.*$", "")
    is_role = pc.fill_null(
        pc.is_in(role_local, value_set=pa.array(sorted(blocklist.role_email_local_parts), pa.string())), False
    )
    is_blocked_domain = pc.fill_null(
        pc.is_in(norm_domain, value_set=pa.array(sorted(blocklist.blocked_email_domains), pa.string())), False
    )
    matchable = pc.and_(valid, pc.invert(pc.or_(is_role, is_blocked_domain)))
    return pa.table(
        {"email_normalized": normalized, "email_is_valid": valid, "email_is_matchable": matchable}
    )


def email_local_part(normalized: pa.Array) -> pa.Array:
    """The local part of normalised emails (null stays null)."""
    return pc.struct_field(pc.extract_regex(normalized, r"^(?P<local>.*)@(?P<domain>[^@]*)$"), "local")


def email_domain(normalized: pa.Array) -> pa.Array:
    """The domain of normalised emails (null stays null)."""
    return pc.struct_field(pc.extract_regex(normalized, r"^(?P<local>.*)@(?P<domain>[^@]*)$"), "domain")


def corrected_domains(domains: pa.Array) -> pa.Array:
    """Each domain, or the one known provider domain it is a one-letter typo of (``gmial.com`` ->
    ``gmail.com``); a domain one edit from two known domains, or known itself, is kept."""
    import numpy as np
    from rapidfuzz import process
    from rapidfuzz.distance import DamerauLevenshtein

    distinct = pc.unique(domains.drop_null())
    if len(distinct) == 0:
        return domains
    known = pa.array(KNOWN_EMAIL_DOMAINS, pa.string())
    candidates = distinct.filter(pc.invert(pc.is_in(distinct, value_set=known)))
    if len(candidates) == 0:
        return domains
    distance = process.cdist(
        candidates.to_pylist(), list(KNOWN_EMAIL_DOMAINS), scorer=DamerauLevenshtein.distance, workers=1
    )
    one_edit = distance == 1
    unique = one_edit.sum(axis=1) == 1
    target = np.where(unique, one_edit.argmax(axis=1), -1)
    typos = candidates.filter(pa.array(unique))
    fixes = known.take(pa.array(target[unique], pa.int64()))
    position = pc.index_in(domains, value_set=typos)
    return pc.coalesce(fixes.take(position), domains)
