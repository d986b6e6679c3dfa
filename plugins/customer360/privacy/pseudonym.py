"""Pseudonyms and masks: what BI-facing tables carry instead of personal data.

- :func:`customer_key` is the same value dbt's ``pseudonymize`` macro writes to ``marts.*.customer_key``:
  md5 of the salt followed by the ``customer_id`` (salt: ``CUSTOMER360_PSEUDONYM_SALT``).
- :func:`identifier_hash` is what the erasure log and the suppression list keep instead of an email, a
  phone number or an account id: SHA-256 of ``<salt>:<kind>:<normalised value>``. The kind keeps an email and
  an account id with the same text apart; the salt keeps the hash from being looked up in a dictionary of
  known addresses by anyone without the salt. :func:`identifier_hash_sql` is the same in DuckDB SQL, so
  ingest compares delivered values with the list in one statement.
- :func:`mask_email` / :func:`mask_phone` mirror the dbt macros ``mask_email`` / ``mask_phone``.
- :func:`normalize_identifier` is the one normalisation both sides use (Python and SQL agree on it).
"""

from __future__ import annotations

import hashlib
import re
from typing import Literal

IdentifierKind = Literal["email", "phone", "account_id", "loyalty_id", "record"]
IDENTIFIER_KINDS: tuple[IdentifierKind, ...] = ("email", "phone", "account_id", "loyalty_id", "record")

# Phones are delivered in every format (+31 6 1234 5678, 06-12345678, 0031612345678): the suppression list
# compares the last digits, which all formats of one number share. Nine digits is the national significant
# number of Dutch and most European mobile numbers; a shorter suffix would match strangers more often.
PHONE_MATCH_DIGITS = 9
_NON_DIGITS = re.compile(r"\D+")


def customer_key(customer_id: str, salt: str) -> str:
    """The salted pseudonym of a customer id, equal to dbt's ``pseudonymize('customer_id')``."""
    return hashlib.md5(f"{salt}{customer_id}".encode()).hexdigest()


def normalize_identifier(kind: IdentifierKind, value: str) -> str | None:
    """The comparable form of an identifier (None when nothing comparable is left).

    email: trimmed, lower case; phone: the last :data:`PHONE_MATCH_DIGITS` digits; ids: trimmed text;
    record: ``<source_channel>|<source_record_id>`` as given.
    """
    if value is None:
        return None
    text = str(value).strip()
    if kind == "email":
        text = text.lower()
    elif kind == "phone":
        digits = _NON_DIGITS.sub("", text)
        text = digits[-PHONE_MATCH_DIGITS:] if len(digits) >= PHONE_MATCH_DIGITS else ""
    return text or None


def normalize_identifier_sql(kind: IdentifierKind, expression: str) -> str:
    """:func:`normalize_identifier` as a DuckDB SQL expression over ``expression``."""
    if kind == "email":
        return f"nullif(lower(trim({expression})), '')"
    if kind == "phone":
        digits = f"regexp_replace(coalesce({expression}, ''), '[^0-9]', '', 'g')"
        n = PHONE_MATCH_DIGITS
        return f"case when length({digits}) >= {n} then right({digits}, {n}) end"
    return f"nullif(trim({expression}), '')"


def identifier_hash(kind: IdentifierKind, value: str, salt: str) -> str | None:
    """Salted SHA-256 of a normalised identifier; None when the value normalises to nothing."""
    normalized = normalize_identifier(kind, value)
    if normalized is None:
        return None
    return hashlib.sha256(f"{salt}:{kind}:{normalized}".encode()).hexdigest()


def identifier_hash_sql(kind: IdentifierKind, expression: str, salt_parameter: str = "$salt") -> str:
    """:func:`identifier_hash` in DuckDB SQL; the salt is bound as a parameter, never inlined."""
    normalized = normalize_identifier_sql(kind, expression)
    return f"sha256({salt_parameter} || ':{kind}:' || {normalized})"


def mask_email(email: str | None) -> str | None:
    """``j***@example.com``: first character of the local part, the domain kept (dbt ``mask_email``)."""
    if email is None:
        return None
    return f"{email[:1]}***@{email.split('@', 1)[1] if '@' in email else ''}"


def mask_phone(phone: str | None) -> str | None:
    """``+3161****678``: first five and last three characters kept (dbt ``mask_phone``)."""
    if phone is None:
        return None
    return f"{phone[:5]}****{phone[-3:]}"
