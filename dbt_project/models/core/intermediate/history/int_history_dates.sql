-- The dates customer_rfm_history describes: the as-of date and every var history_step_days (7) days before
-- it within the last var history_window_days (365) days. They depend on the as-of date alone, not on the
-- runs recorded, so that the history is the same whatever dates ran before and in whatever order
-- (docs/incremental.md, "History marts").

{%- set step = var('history_step_days') | int %}
{%- set window = var('history_window_days') | int %}

with

history_dates as (
    {%- for offset in range(0, window, step) %}
    select {{ days_after(as_of_date(), -offset) }} as as_of_date
    {{- ' union all' if not loop.last }}
    {%- endfor %}
),

final as (select cast(as_of_date as date) as as_of_date from history_dates)

select * from final
