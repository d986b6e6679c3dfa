"""The cross-target comparisons' value rule (tests/support/value_equality.py)."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from tests.support.value_equality import same_value

TOLERANCE = 1e-9


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        (math.nan, math.nan, True),
        (math.nan, 1.0, False),
        (1.0, math.nan, False),
        (None, None, True),
        (None, 0.0, False),
        (0.0, None, False),
        (None, math.nan, False),
        (1.0, 1.0 + 1e-12, True),
        (1e12, 1e12 * (1 + 1e-10), True),
        (1.0, 1.0 + 1e-6, False),
        (0.0, 1e-12, True),
        (1, 1.0 + 1e-12, True),
        (Decimal("2.5"), 2.5 + 1e-12, True),
        (Decimal("2.5"), 2.6, False),
        ("1.0", 1.0, False),
        (1, 1, True),
        (1, 2, False),
        ("a", "a", True),
        ("a", "b", False),
    ],
)
def test_same_value(left: object, right: object, equal: bool) -> None:
    assert same_value(left, right, TOLERANCE) is equal
