-- The dates the history marts describe: every day on which a source delivered data (a raw row's
-- _load_date: the days the daily run processes) within the last var history_window_days days up to the
-- as-of date, and the as-of date itself. They come from the raw rows, not from the runs recorded, so that
-- the history is the same whatever dates ran before and in whatever order (docs/incremental.md,
-- "History marts").

{%- set channels = ['crm_contacts', 'web_orders', 'pos_transactions', 'support_tickets', 'marketing_events', 'surveys'] %}

with

delivery_days as (
    {%- for channel in channels %}
    select distinct _load_date as history_date
    from {{ source(channel, channel) }}
    where _load_date <= {{ as_of_date() }}
        and _load_date > {{ days_after(as_of_date(), -(var('history_window_days') | int)) }}
    union
    {%- endfor %}
    select {{ as_of_date() }} as history_date
),

final as (
    select distinct cast(history_date as date) as as_of_date
    from delivery_days
)

select * from final
