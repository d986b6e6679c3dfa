-- RFM as of the as-of date over the window (as_of_date - rfm_window_days, as_of_date]. Quintile scores
-- by value: a customer's score is 1 + floor(5 x the share of customers with a worse value), so equal
-- values always get equal scores and no id takes part (see the YAML). The scoring is the rfm_scores macro
-- (macros/history.sql), shared with customer_rfm_history, whose row for the as-of date is this one.

with

purchase_days as (select * from {{ ref('int_customer_purchase_days') }}),

segment_map as (select * from {{ ref('rfm_segment_map') }}),

dates as (select {{ as_of_date() }} as as_of_date),

final as (
    {{ rfm_scores('purchase_days', 'dates', 'segment_map') }}
)

select * from final
