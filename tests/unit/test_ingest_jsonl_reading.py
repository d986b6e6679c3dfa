"""JSON lines: the drift listing and the object check each parse a line once or twice, not once per path.

The listing cuts the top-level objects the mapping reads into out of each line once (``json_transform``)
and reads nested keys from those parts; these tests pin what it must still find in lines of every awkward
shape, and that rows come out in line and element order without a sort.
"""

from __future__ import annotations

import json
from pathlib import Path

from customer360.landing.contract import get_channel
from customer360.landing.mapping import ChannelConfig
from customer360.landing.readers import ITEM_INDEX, SOURCE_LINE, json_engine, open_landing_file


def _read(path: Path, batch_rows: int = 1000):
    config = ChannelConfig.for_contract(get_channel("web_orders"))
    with json_engine() as engine, open_landing_file(path, config, "orders.jsonl", batch_rows, engine) as f:
        batches = list(f.batches)
    return batches, f


def _order(order_id: str, **extra: object) -> dict:
    return {
        "order_id": order_id,
        "ordered_at": "2026-03-01T10:00:00Z",
        "status": "completed",
        "customer": {"email": f"{order_id}@example.com"},
        "lines": [{"line_number": 1, "sku": "A", "quantity": 1, "unit_price": 2.5}],
        **extra,
    }


def test_given_lines_of_every_shape_when_read_then_each_extra_field_is_noted_once(tmp_path: Path) -> None:
    # GIVEN orders whose extra fields hide in every place the listing looks: the top level, inside a mapped
    # object, inside array elements among elements that are not objects, and in objects that are sometimes
    # null, a string or an array instead
    orders = [
        _order("O1", coupon="X"),
        _order("O2", customer={"email": "a@b.c", "vip": True}, shipping=None),
        _order("O3", lines=[{"sku": "B", "gift_wrap": True}, 3, None, [1], {}]),
        _order("O4", customer=None, shipping="by hand", lines="none"),
        _order("O5", customer=[1, 2], shipping={"city": "Gouda", "floor": 2}, lines=[]),
    ]
    path = tmp_path / "orders.jsonl"
    path.write_text("".join(json.dumps(o) + "\n" for o in orders), encoding="utf-8")
    # WHEN it is read
    batches, landing = _read(path)
    # THEN every extra field is noted, once, and nothing the contract knows is
    noted = sorted(note.split("'")[1] for note in landing.drift)
    assert noted == ["coupon", "customer.vip", "lines[].gift_wrap", "shipping.floor"]
    # AND every order is a record, none rejected (a non-array `lines` is the row checks' business)
    assert sum(b.records for b in batches) == 5
    assert [r for b in batches for r in b.rejects] == []


def test_given_values_that_are_not_objects_when_read_then_each_is_rejected_and_objects_with_spaces_are_not(
    tmp_path: Path,
) -> None:
    # GIVEN JSON values of every kind on their own line, some led by JSON whitespace, and a broken line
    good = json.dumps(_order("O1"))
    lines = [f" \t{good}", '["a"]', '  "text"', "12", "null", "true", good[:-5], f"{good}\r"]
    path = tmp_path / "orders.jsonl"
    path.write_bytes("\n".join(lines).encode("utf-8") + b"\n")
    # WHEN it is read
    batches, _ = _read(path)
    rejects = [r for b in batches for r in b.rejects]
    # THEN the two objects load and the six other lines are rejected whole, each with its line and reason
    assert sorted({line for b in batches for line in b.table.column(SOURCE_LINE).to_pylist()}) == [1, 8]
    assert [(r.line, r.reason.split(":")[0].split(",")[0]) for r in rejects] == [
        (2, "JSON value is a list"),
        (3, "JSON value is a str"),
        (4, "JSON value is a int"),
        (5, "JSON value is a NoneType"),
        (6, "JSON value is a bool"),
        (7, "malformed JSON"),
    ]
    assert sum(b.records for b in batches) == 8


def test_given_many_orders_with_several_lines_when_read_in_batches_then_rows_keep_line_and_element_order(
    tmp_path: Path,
) -> None:
    # GIVEN 600 orders of one to four order lines (and an order without lines), read in batches
    orders = [
        _order(f"O{i}", lines=[{"line_number": n, "sku": f"S{n}"} for n in range(1, i % 4 + 2)])
        for i in range(600)
    ] + [_order("EMPTY", lines=[])]
    path = tmp_path / "orders.jsonl"
    path.write_text("".join(json.dumps(o) + "\n" for o in orders), encoding="utf-8")
    batches, _ = _read(path, batch_rows=800)  # 200 lines a batch (JSON lines take a quarter)
    assert len(batches) == 4
    # WHEN the rows are taken in the order the reader gives them
    keys = [
        (line, item)
        for b in batches
        for line, item in zip(
            b.table.column(SOURCE_LINE).to_pylist(), b.table.column(ITEM_INDEX).to_pylist(), strict=True
        )
    ]
    # THEN they are in line order, each order's elements in array order, unsorted by anyone
    assert keys == sorted(keys)
    assert len(keys) == sum(i % 4 + 1 for i in range(600)) + 1
    assert keys[-1] == (601, 0)  # the order without lines: one row, element 0
