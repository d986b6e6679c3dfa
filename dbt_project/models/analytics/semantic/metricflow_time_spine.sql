-- The day time spine MetricFlow joins to for time-based joins and aggregations (dbt's semantic layer
-- requires one). A fixed calendar, so it depends on no data and no run: it covers data far older than the
-- demo's (CDNOW's 1997 orders) and dates well past any as-of date.

with

days as (
    {{ dbt.date_spine('day', "cast('1990-01-01' as date)", "cast('2051-01-01' as date)") }}
),

final as (
    select cast(date_day as date) as date_day
    from days
)

select * from final
