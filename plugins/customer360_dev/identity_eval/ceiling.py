"""The recall a set's evidence allows: link only true pairs that share an identifier or a name variant.

Two records of one person that share nothing (no e-mail, phone, account, loyalty card or name in any of its
written forms) cannot be linked by anyone; two that share one of these can, and so can every pair joined
through a chain of such records (A shares a phone with B, B an e-mail with C). The ceiling is the pairwise
recall of that linkage: within each person, the records form components by shared keys, and
``sum(component pairs) / sum(person pairs)``, pairs counted as ``n * (n - 1) / 2``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def _pairs(sizes: pd.Series | np.ndarray) -> int:
    n = np.asarray(sizes, dtype=np.int64)
    return int((n * (n - 1) // 2).sum())


def ceiling_recall(records: pd.DataFrame, keys: pd.DataFrame) -> float:
    """``records``: ``record, person`` (one row per record); ``keys``: ``record, key`` (any number per
    record; a key is any text that names one identifier value or one name variant, e.g. ``phone:+316...``).
    Returns the share of true pairs reachable through shared keys within each person (1.0 without pairs).
    """
    position = pd.Series(np.arange(len(records)), index=records["record"].to_numpy())
    if position.index.has_duplicates:
        raise ValueError("records must list each record once")
    person_codes = pd.factorize(records["person"])[0]
    total = _pairs(np.bincount(person_codes))
    if total == 0:
        return 1.0
    keyed = keys.dropna(subset=["key"])
    node = position.reindex(keyed["record"].to_numpy()).to_numpy()
    if np.isnan(node.astype(float)).any():
        raise ValueError("keys name records that are not in records")
    node = node.astype(np.int64)
    # a key links records of one person only: group by (person, key) and star each group on its first node
    group = pd.DataFrame({"node": node, "person": person_codes[node], "key": keyed["key"].to_numpy()})
    root = group.groupby(["person", "key"], sort=False)["node"].transform("min").to_numpy()
    n = len(records)
    graph = coo_matrix((np.ones(len(node), dtype=np.int8), (node, root)), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    linked = _pairs(np.bincount(component))
    return linked / total


def staged_ceiling_recall(warehouse_path: Path, truth_path: Path) -> float:
    """The ceiling of a set whose generator does not compute one (the project's generator), from the records
    the dbt staging layer handed to identity: two source records share evidence when their identity records
    share an e-mail (trimmed, lower case), the last 8 digits of a phone, an account id, a loyalty id or a
    full name (its words in any order, case folded), or when dbt collapsed them into one identity record.
    The same keys also as the identity stage normalises them (an e-mail with its provider's typo corrected,
    a phone in E.164, a name folded and in any script's order) count as well: the ceiling is the most
    generous exact evidence. Typos are not evidence here, as in the adversarial set's ceiling."""
    import duckdb

    from customer360.identity.evaluate import CHANNEL_ALIASES
    from customer360.identity.records import INPUT_TABLE, MEMBERS_TABLE

    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        staged = con.execute(
            "select source_channel::varchar as channel, source_record_id::varchar as identity_record, "
            "account_id::varchar as account, loyalty_id::varchar as loyalty, email::varchar as email, "
            "phone::varchar as phone, coalesce(nullif(trim(concat_ws(' ', first_name, last_name)), ''), "
            f"full_name)::varchar as name from {INPUT_TABLE}"
        ).df()
        members = con.execute(
            "select source_channel::varchar as channel, source_record_id::varchar as source_record_id, "
            f"identity_record_id::varchar as identity_record from {MEMBERS_TABLE}"
        ).df()
    finally:
        con.close()
    staged["rec"] = staged["channel"] + "|" + staged["identity_record"]
    digits = staged["phone"].str.replace(r"\D", "", regex=True)
    words = staged["name"].str.casefold().str.split()
    evidence = {
        "e": staged["email"].str.strip().str.lower(),
        "p": digits.where(digits.str.len() >= 8).str[-8:],
        "a": staged["account"].str.strip(),
        "l": staged["loyalty"].str.strip().str.upper(),
        "n": words.map(lambda w: " ".join(sorted(w)) if isinstance(w, list) and len(w) >= 2 else None),
    }
    normalised = _normalised_keys(warehouse_path)
    keys = pd.concat(
        [pd.DataFrame({"rec": staged["rec"], "key": kind + ":" + value}) for kind, value in evidence.items()]
        + [normalised]
    ).dropna()
    keys = keys[keys["key"].str.len() > 2]
    truth = pd.read_parquet(truth_path).astype("string")
    truth["channel"] = truth["source_channel"].map(
        lambda c: {name: alias for alias, name in CHANNEL_ALIASES.items()}.get(c, c)
    )
    members["rec"] = members["channel"] + "|" + members["identity_record"]
    source = members.merge(truth, on=["channel", "source_record_id"])
    source["record"] = source["channel"] + "|" + source["source_record_id"]
    source = source.drop_duplicates("record")
    record_keys = pd.concat(
        [
            source[["record", "rec"]].merge(keys, on="rec")[["record", "key"]],
            pd.DataFrame({"record": source["record"], "key": "r:" + source["rec"]}),
        ]
    )
    return ceiling_recall(source.rename(columns={"person_id": "person"})[["record", "person"]], record_keys)


def _normalised_keys(warehouse_path: Path) -> pd.DataFrame:
    """``rec, key``: each identity record's e-mail, phone and sorted name as the identity stage normalises
    them (its normalisers, not its matching)."""
    import duckdb

    from customer360.identity.blocklist import load_blocklist
    from customer360.identity.records import read_records
    from customer360.settings import get_settings

    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        records = read_records(con, get_settings().default_phone_region, load_blocklist()).to_pandas()
    finally:
        con.close()
    rec = records["source_channel"] + "|" + records["source_record_id"]
    return pd.concat(
        [
            pd.DataFrame({"rec": rec, "key": "e:" + records["email_normalized"]}),
            pd.DataFrame({"rec": rec, "key": "p:" + records["phone_e164"]}),
            pd.DataFrame({"rec": rec, "key": "n:" + records["name_sorted"]}),
        ]
    )
