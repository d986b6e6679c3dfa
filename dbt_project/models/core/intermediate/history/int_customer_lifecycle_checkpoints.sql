-- Each customer's lifecycle stage on every day it can change, from the day they were first seen up to the
-- as-of date, by the rules of customer_lifecycle (the lifecycle_stages macro, macros/history.sql) applied
-- to the purchase days and contacts dated on or before that day. Computed from the facts this run sees,
-- with today's customers (identity as resolved now), so the history is the same whatever dates ran
-- before and in whatever order; its rows for the as-of date are customer_lifecycle's stages.
--
-- The rules are steps in time, so a stage can change only on these days (h = var churn_horizon_days,
-- r = var lifecycle_reactivation_days, w = var rfm_window_days), and holds between them:
--   the first day the customer was seen, and their first contact;
--   each purchase day p (one more purchase day; a reactivation starts);
--   p + floor(h/2) and p + ceil(h/2) (at_risk), p + h (lapsed), p + r (a reactivation ends), p + w (the
--   purchase leaves the loyalty window);
--   and the as-of date.
-- Evaluating the rules on these days gives every day's stage (each day has the stage of the latest of
-- them), for a fraction of the rows of a daily calendar.

{%- set horizon = var('churn_horizon_days') | int %}

with

customers as (select * from {{ ref('dim_customers') }}),

purchase_days as (select * from {{ ref('int_customer_purchase_days') }}),

interactions as (select * from {{ ref('fct_interactions') }}),

first_contacts as ({{ first_contact_dates('interactions') }}),

-- a customer's history starts on the day of their first record (every customer of the as-of date has a
-- row on it, as in customer_lifecycle)
customer_starts as (
    select
        customer_id,
        least(cast(first_seen_at as date), {{ as_of_date() }}) as first_seen_date
    from customers
),

change_days as (
    select customer_id, first_seen_date as change_date from customer_starts
    union
    select customer_id, {{ as_of_date() }} as change_date from customer_starts
    union
    select customer_id, first_contact_date as change_date from first_contacts
    {%- for offset in [0, horizon // 2, (horizon + 1) // 2, horizon, var('lifecycle_reactivation_days') | int, var('rfm_window_days') | int] | unique %}
    union
    select customer_id, {{ days_after('purchase_date', offset) }} as change_date from purchase_days
    {%- endfor %}
),

-- a day before the customer was first seen counts from that first day
customer_dates as (
    select distinct
        change_days.customer_id,
        cast(greatest(change_days.change_date, customer_starts.first_seen_date) as date) as as_of_date
    from change_days
    inner join customer_starts
        on change_days.customer_id = customer_starts.customer_id
    where change_days.change_date <= {{ as_of_date() }}
),

staged as (
    {{ lifecycle_stages('customer_dates', 'purchase_days', 'first_contacts') }}
),

final as (
    select
        customer_id,
        cast(as_of_date as date) as as_of_date,
        lifecycle_stage
    from staged
)

select * from final
