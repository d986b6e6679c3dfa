"""The recall a set's evidence allows: link only true pairs that share an identifier or a name variant.

Two records of one person that share nothing (no e-mail, phone, account, loyalty card or name in any of its
written forms) cannot be linked by anyone; two that share one of these can, and so can every pair joined
through a chain of such records (A shares a phone with B, B an e-mail with C). The ceiling is the pairwise
recall of that linkage: within each person, the records form components by shared keys, and
``sum(component pairs) / sum(person pairs)``, pairs counted as ``n * (n - 1) / 2``.
"""

from __future__ import annotations

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
