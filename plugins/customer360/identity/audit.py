"""Audit of the last resolution: the largest customers, what holds them together, and what the guards refused.

For each of the ``top`` largest customers: its records, and its *bridges*. The evidence of a customer is a
graph of records and the keys that link them (an email, a phone, an account id, a loyalty id, or one
probabilistic match). A bridge is a record or a key whose removal would split the customer: the single
shared email that joins two otherwise separate groups is exactly what to look at when a merge is wrong.
Bridges are the articulation points of that graph (Tarjan), reported with the sizes of the parts they hold
together; keys whose removal only drops one record are left out.

Rejected edges (``identity.match_edges`` with ``status = 'rejected'``) are grouped by guard and key.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field

from customer360.settings import Settings

DEFAULT_TOP = 20
DEFAULT_RECORDS_SHOWN = 25
DEFAULT_BRIDGES_SHOWN = 5


@dataclass
class Bridge:
    kind: str  # 'record' or 'key'
    label: str  # "web_orders/o1" or "email=jan@x.nl"
    parts: list[int]  # records on each side, largest first


@dataclass
class ClusterAudit:
    customer_id: str
    record_count: int
    channels: str
    records: list[dict[str, object]]
    bridges: list[Bridge] = field(default_factory=list)


@dataclass
class AuditReport:
    run_id: str | None
    ruleset_hash: str | None
    clusters: list[ClusterAudit]
    rejections_by_guard: dict[str, int]
    rejections: list[dict[str, object]]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def articulation_points(
    adjacency: dict[object, set[object]], weight: dict[object, int]
) -> dict[object, list[int]]:
    """Nodes whose removal disconnects their component, with the total ``weight`` of each resulting part.

    Iterative Tarjan: a non-root node ``u`` separates the subtree of a DFS child ``v`` when ``low[v] >=
    disc[u]``;
    the root separates its children when it has two or more."""
    disc: dict[object, int] = {}
    low: dict[object, int] = {}
    subtree: dict[object, int] = {}
    result: dict[object, list[int]] = {}
    for root in sorted(adjacency, key=str):
        if root in disc:
            continue
        component_total = _component_weight(adjacency, weight, root)
        counter = len(disc)
        disc[root] = low[root] = counter
        subtree[root] = weight.get(root, 0)
        separated: dict[object, list[int]] = defaultdict(list)
        children: dict[object, int] = defaultdict(int)
        stack = [(root, None, iter(sorted(adjacency[root], key=str)))]
        while stack:
            node, parent, neighbours = stack[-1]
            advanced = False
            for nxt in neighbours:
                if nxt == parent:
                    continue
                if nxt in disc:
                    low[node] = min(low[node], disc[nxt])
                    continue
                counter += 1
                disc[nxt] = low[nxt] = counter
                subtree[nxt] = weight.get(nxt, 0)
                children[node] += 1
                stack.append((nxt, node, iter(sorted(adjacency[nxt], key=str))))
                advanced = True
                break
            if advanced:
                continue
            stack.pop()
            if parent is not None:
                low[parent] = min(low[parent], low[node])
                subtree[parent] += subtree[node]
                if low[node] >= disc[parent]:
                    separated[parent].append(subtree[node])
        for node, parts in separated.items():
            if node == root and children[root] < 2:
                continue
            rest = component_total - weight.get(node, 0) - sum(parts)
            sizes = sorted([p for p in parts + ([rest] if node != root else []) if p > 0], reverse=True)
            if len(sizes) >= 2:
                result[node] = sizes
    return result


def _component_weight(adjacency: dict[object, set[object]], weight: dict[object, int], root: object) -> int:
    seen, stack, total = {root}, [root], 0
    while stack:
        node = stack.pop()
        total += weight.get(node, 0)
        for nxt in adjacency[node]:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return total


def evidence_bridges(edges: list[dict[str, object]], records: list[str]) -> list[Bridge]:
    """Bridges of one customer from its accepted edges (``left``, ``right``, ``match_rule``,
    ``match_key``)."""
    adjacency: dict[object, set[object]] = defaultdict(set)
    weight: dict[object, int] = {}
    for record in records:
        node = ("record", record)
        adjacency[node]
        weight[node] = 1
    for position, edge in enumerate(edges):
        if edge["match_rule"] == "probabilistic":
            key = (
                "key",
                f"probabilistic match {edge['left']} ~ {edge['right']} ({edge['match_key']})",
                position,
            )
        else:
            key = ("key", f"{edge['match_rule']}={edge['match_key']}")
        for side in ("left", "right"):
            record = ("record", edge[side])
            adjacency[key].add(record)
            adjacency[record].add(key)
    bridges = [
        Bridge(kind=node[0], label=str(node[1]), parts=parts)
        for node, parts in articulation_points(adjacency, weight).items()
    ]
    return sorted(bridges, key=lambda b: (-(b.parts[1] if len(b.parts) > 1 else 0), -sum(b.parts), b.label))


def audit_identity(
    settings: Settings,
    top: int = DEFAULT_TOP,
    records_shown: int = DEFAULT_RECORDS_SHOWN,
    bridges_shown: int = DEFAULT_BRIDGES_SHOWN,
) -> AuditReport:
    """Read the identity tables (read-only) and build the audit of the largest customers."""
    from customer360.warehouse import connect

    with connect(settings, read_only=True) as con:
        con.execute("set enable_progress_bar = false")
        tables = {
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables where table_schema = 'identity'"
            ).fetchall()
        }
        if not {"customer_source_xref", "match_edges"} <= tables:
            raise LookupError(
                "the identity tables are missing: run identity resolution first "
                "(customer360 identity resolve, or the resolve_identity task)"
            )
        run = con.execute(
            "select run_id, ruleset_hash from identity.resolution_runs order by run_sequence desc limit 1"
        ).fetchall()
        largest = con.execute(
            """select customer_id, count(*) as records,
                string_agg(distinct source_channel, ',' order by source_channel) as channels
            from identity.customer_source_xref group by all
            having count(*) > 1 order by records desc, customer_id limit ?""",
            [top],
        ).fetchall()
        clusters = [_cluster_audit(con, row, records_shown, bridges_shown) for row in largest]
        by_guard = dict(
            con.execute(
                """select reject_reason, count(*) from identity.match_edges
                where status = 'rejected' group by all order by 2 desc, 1"""
            ).fetchall()
        )
        rejections = [
            dict(
                zip(
                    ("guard", "match_rule", "match_key", "edges", "example_left", "example_right"),
                    row,
                    strict=True,
                )
            )
            for row in con.execute(
                """select reject_reason, match_rule,
                    case when match_rule = 'probabilistic'
                        then left_channel || '/' || left_record_id || ' ~ '
                            || right_channel || '/' || right_record_id
                        else match_key end as evidence,
                    count(*) as edges,
                    min(left_channel || '/' || left_record_id), min(right_channel || '/' || right_record_id)
                from identity.match_edges where status = 'rejected'
                group by all order by edges desc, reject_reason, match_rule, evidence limit ?""",
                [top],
            ).fetchall()
        ]
    return AuditReport(
        run_id=run[0][0] if run else None,
        ruleset_hash=run[0][1] if run else None,
        clusters=clusters,
        rejections_by_guard={str(k): int(v) for k, v in by_guard.items()},
        rejections=rejections,
    )


def _cluster_audit(con: object, row: tuple, records_shown: int, bridges_shown: int) -> ClusterAudit:
    customer_id, count, channels = row
    records = [
        dict(zip(("record", "match_rule", "match_score", "email", "phone", "name"), r, strict=True))
        for r in con.execute(
            """select x.source_channel || '/' || x.source_record_id, x.match_rule, x.match_score,
                c.email_normalized, c.phone_e164, c.name_normalized
            from identity.customer_source_xref as x
            left join identity.contact_points as c using (source_channel, source_record_id)
            where x.customer_id = ? order by 1""",
            [customer_id],
        ).fetchall()
    ]
    edges = [
        dict(zip(("left", "right", "match_rule", "match_key"), e, strict=True))
        for e in con.execute(
            """with members as (
                select source_channel, source_record_id from identity.customer_source_xref where
                customer_id = ?
            )
            select e.left_channel || '/' || e.left_record_id, e.right_channel || '/' || e.right_record_id,
                e.match_rule, e.match_key
            from identity.match_edges as e
            join members as l on l.source_channel = e.left_channel and l.source_record_id = e.left_record_id
            join members as r on r.source_channel = e.right_channel and r.source_record_id = e.right_record_id
            where e.status = 'accepted'""",
            [customer_id],
        ).fetchall()
    ]
    bridges = evidence_bridges(edges, [str(r["record"]) for r in records])
    return ClusterAudit(
        customer_id=customer_id,
        record_count=int(count),
        channels=channels,
        records=records[:records_shown],
        bridges=bridges[:bridges_shown],
    )


def format_audit(report: AuditReport) -> str:
    """Plain-text rendering for the terminal."""
    lines = [f"identity audit: run {report.run_id or '-'}, rule set {report.ruleset_hash or '-'}", ""]
    for cluster in report.clusters:
        lines.append(f"{cluster.customer_id}: {cluster.record_count} records ({cluster.channels})")
        for record in cluster.records:
            score = "" if record["match_score"] is None else f" {record['match_score']:.3f}"
            lines.append(
                f"    {record['record']:<40} {record['match_rule']}{score}  "
                f"{record['email'] or '-'}  {record['phone'] or '-'}  {record['name'] or '-'}"
            )
        if cluster.record_count > len(cluster.records):
            lines.append(f"    ... {cluster.record_count - len(cluster.records)} more records")
        for bridge in cluster.bridges:
            parts = " + ".join(str(p) for p in bridge.parts)
            lines.append(f"  bridge ({bridge.kind}) {bridge.label}: holds together {parts} records")
        lines.append("")
    total = sum(report.rejections_by_guard.values())
    lines.append(f"guard rejections: {total}" + (f" {report.rejections_by_guard}" if total else ""))
    for rejection in report.rejections:
        lines.append(
            f"    {rejection['guard']:<12} {rejection['match_rule']:<14} {rejection['match_key']}  "
            f"{rejection['edges']} edge(s), e.g. {rejection['example_left']} ~ {rejection['example_right']}"
        )
    return "\n".join(lines)
