"""The churn feature table: its columns, their meaning, checks, and the purchase-derived part.

Churn label: a customer *churns* at day D when they make no purchase in (D, D + horizon]
(``Settings.churn_horizon_days``, 90 by default). Only customers with at least one purchase up to D are in
the population (someone who never bought cannot stop buying).

The feature table (one row per customer per feature_date; built by a dbt model in the pipeline) has:

| column | type | meaning, as of ``feature_date`` (data up to and including that day only) |
|---|---|---|
| customer_id | str | resolved customer id |
| feature_date | date | the day the features describe |
| recency_days | float | days since the last purchase day; null if the customer never purchased |
| frequency | float | repeat purchase days (purchase days after the first), as in the CLV summary |
| monetary | float | mean net amount per purchase day |
| trend_ratio | float | (purchase days in (D-90, D] + 1) / (purchase days in (D-180, D-90] + 1) |
| tenure_days | float | days since the first purchase day |
| complaints_90d | float | complaint tickets opened in (D-90, D] |
| sla_breaches_90d | float | tickets in (D-90, D] whose resolution breached the SLA |
| complaints_since_last_purchase | float | complaints opened after the last purchase day (up to D) |
| sla_breaches_since_last_purchase | float | tickets opened after it whose SLA was breached by D |
| last_csat | float | latest customer-satisfaction score up to D (1-5); null if never surveyed |
| last_nps | float | latest NPS answer up to D (0-10); null if never surveyed |
| p_alive | float | Pareto/NBD P(alive) at D (``analytics.customer_clv_predictions``) |
| expected_purchases_90d | float | Pareto/NBD expected purchase days in (D, D+90] |
| p_no_purchase_horizon | float | Pareto/NBD P(no purchase day in (D, D + horizon]): the label's event |

``recency_days`` is also what the label needs: a customer had no purchase in (T, T + horizon] exactly when, at
feature date T + horizon, ``recency_days >= horizon`` (see ``labels_from_features``).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

# Trend window: "last 90 days vs the 90 before".
TREND_WINDOW_DAYS = 90

FEATURE_COLUMNS = (
    "recency_days",
    "frequency",
    "monetary",
    "trend_ratio",
    "tenure_days",
    "complaints_90d",
    "sla_breaches_90d",
    "complaints_since_last_purchase",
    "sla_breaches_since_last_purchase",
    "last_csat",
    "last_nps",
    "p_alive",
    "expected_purchases_90d",
    "p_no_purchase_horizon",
)
KEY_COLUMNS = ("customer_id", "feature_date")
REQUIRED_COLUMNS = (*KEY_COLUMNS, *FEATURE_COLUMNS)
# Columns that may be null for a purchasing customer (the model handles missing values natively).
NULLABLE_FEATURES = ("last_csat", "last_nps", "p_alive", "expected_purchases_90d", "p_no_purchase_horizon")
# Purchase-derived columns that ``purchase_features`` computes.
PURCHASE_FEATURE_COLUMNS = ("recency_days", "frequency", "monetary", "trend_ratio", "tenure_days")


class FeatureTableError(ValueError):
    """The feature table does not have the documented shape; the message names the column or key."""


def validate_features(features: pd.DataFrame, what: str = "churn features") -> pd.DataFrame:
    """Check columns, keys and types; return a copy with date ``feature_date`` and float64 features."""
    import pandas as pd

    missing = [column for column in REQUIRED_COLUMNS if column not in features.columns]
    if missing:
        raise FeatureTableError(
            f"{what}: missing column(s) {', '.join(missing)}; the table needs {', '.join(REQUIRED_COLUMNS)} "
            "(see customer360.churn.features)"
        )
    frame = features.loc[:, list(REQUIRED_COLUMNS)].copy()
    if frame["customer_id"].isna().any():
        raise FeatureTableError(
            f"{what}: {int(frame['customer_id'].isna().sum())} row(s) have no customer_id"
        )
    try:
        frame["feature_date"] = pd.to_datetime(frame["feature_date"]).dt.date
    except (ValueError, TypeError) as exc:
        raise FeatureTableError(f"{what}: column feature_date does not hold dates: {exc}") from exc
    for column in FEATURE_COLUMNS:
        try:
            frame[column] = pd.to_numeric(frame[column], errors="raise").astype("float64")
        except (ValueError, TypeError) as exc:
            raise FeatureTableError(f"{what}: column {column} is not numeric: {exc}") from exc
    duplicated = frame.duplicated(list(KEY_COLUMNS))
    if duplicated.any():
        first = frame.loc[duplicated, list(KEY_COLUMNS)].iloc[0]
        raise FeatureTableError(
            f"{what}: {int(duplicated.sum())} duplicate (customer_id, feature_date) row(s), e.g. "
            f"{first['customer_id']!r} on {first['feature_date']}: "
            "the table must have one row per customer per day"
        )
    return frame


def purchasers(features: pd.DataFrame) -> pd.DataFrame:
    """Rows of customers with at least one purchase by their feature_date (the churn population)."""
    return features.loc[features["recency_days"].notna()].reset_index(drop=True)


def labels_from_features(
    features_then: pd.DataFrame, features_now: pd.DataFrame, horizon_days: int
) -> pd.DataFrame:
    """Churn labels for ``features_then`` (feature date T) from ``features_now`` (date T + horizon).

    ``churned`` is True when the customer made no purchase in (T, T + horizon], i.e. their recency at
    T + horizon is at least ``horizon_days``. Customers absent from ``features_now`` (e.g. merged into
    another id) are dropped. Returns ``features_then``'s purchasers with a boolean ``churned`` column, in
    the same order.
    """
    then = purchasers(features_then)
    now = features_now.loc[:, ["customer_id", "recency_days"]].rename(columns={"recency_days": "recency_now"})
    joined = then.merge(now, on="customer_id", how="inner", validate="one_to_one")
    joined["churned"] = joined["recency_now"] >= horizon_days
    return joined.drop(columns=["recency_now"])


def purchase_features(purchase_days: pd.DataFrame, feature_date: date) -> pd.DataFrame:
    """The purchase-derived features as of ``feature_date`` from purchase days (customer_id, purchase_date,
    net_amount): the reference definition the dbt feature model follows. Computed in DuckDB."""
    import duckdb

    con = duckdb.connect()
    try:
        con.register("purchase_days", purchase_days)
        return con.execute(
            """
            with days as (
                select
                    customer_id,
                    cast(purchase_date as date) as purchase_date,
                    sum(net_amount) as net_amount
                from purchase_days
                where cast(purchase_date as date) <= $d
                group by all
            )
            select
                customer_id,
                $d as feature_date,
                cast(date_diff('day', max(purchase_date), $d) as double) as recency_days,
                cast(count(*) - 1 as double) as frequency,
                sum(net_amount) / count(*) as monetary,
                (count(*) filter (where purchase_date > $d - $w) + 1.0)
                    / (count(*) filter (where purchase_date > $d - 2 * $w and purchase_date <= $d - $w) + 1.0)
                    as trend_ratio,
                cast(date_diff('day', min(purchase_date), $d) as double) as tenure_days
            from days
            group by customer_id
            order by customer_id
            """,
            {"d": feature_date, "w": TREND_WINDOW_DAYS},
        ).df()
    finally:
        con.close()
