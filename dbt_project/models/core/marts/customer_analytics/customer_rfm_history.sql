-- customer_rfm on every date of the history (int_history_dates: the as-of date and every 7 days before it
-- within 365 days), computed from the purchase days this run sees rather than appended
-- run by run: a run for a date gives the same history whatever dates ran before it, and in any order
-- (docs/incremental.md, "History marts"). Its row for the as-of date is customer_rfm's
-- (tests/assert_history_rows_of_the_as_of_date_are_the_current_marts.sql).

with

purchase_days as (select * from {{ ref('int_customer_purchase_days') }}),

segment_map as (select * from {{ ref('rfm_segment_map') }}),

dates as (select * from {{ ref('int_history_dates') }}),

final as (
    {{ rfm_scores('purchase_days', 'dates', 'segment_map') }}
)

select * from final
