"""Value equality of the cross-target comparisons (DuckDB against PostgreSQL or Spark): one rule for both.

Floats (and a float beside an integer or a decimal) are equal within a relative or absolute tolerance,
because each engine adds doubles in its own order; NaN equals NaN (a model's NaN on both targets is the
same answer, which ``math.isclose`` denies); a null equals only a null; any other value is compared with
``==``."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any


def _number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def same_value(left: Any, right: Any, tolerance: float) -> bool:
    if left is None or right is None:
        return left is right
    if (isinstance(left, float) or isinstance(right, float)) and _number(left) and _number(right):
        left, right = float(left), float(right)
        if math.isnan(left) or math.isnan(right):
            return math.isnan(left) and math.isnan(right)
        return math.isclose(left, right, rel_tol=tolerance, abs_tol=tolerance)
    return left == right
