-- Each customer's lifecycle stage on the as-of date, from their purchase days (revenue orders, one per
-- customer and day: int_customer_purchase_days) and, before a purchase, their own contacts
-- (customer-initiated interactions of fct_interactions other than orders). Rules, first match wins
-- (h = var churn_horizon_days):
--
--   potential       no purchase day and no contact from the customer yet (known from CRM, third-party data
--                   or our own sends only)
--   first_contact   no purchase day yet, but the customer contacted us (a ticket, a survey answer, a visit,
--                   an open or click, a review, share, mention or referral)
--   lapsed          no purchase in the last h days (days_since_last_order >= h; the churn label's rule)
--   reactivated     bought in the last var lifecycle_reactivation_days days after a gap of at least h days
--                   between two purchase days
--   at_risk         last purchase h/2 to h days ago (half the horizon passed without an order)
--   first_purchase  exactly one purchase day, less than h/2 days ago
--   loyal           at least var lifecycle_loyal_min_order_days purchase days in the RFM window, the last
--                   less than h/2 days ago
--   repeat          two or more purchase days, the last less than h/2 days ago
--
-- DECISION: "recent" is half the churn horizon so that at_risk is the warning band before lapsed; loyal
-- counts purchase days in the RFM window (not ever) so that loyalty has to be current.

with

customers as (select * from {{ ref('dim_customers') }}),

purchase_days as (select * from {{ ref('int_customer_purchase_days') }}),

interactions as (select * from {{ ref('fct_interactions') }}),

first_contacts as ({{ first_contact_dates('interactions') }}),

customer_dates as (
    select
        customer_id,
        {{ as_of_date() }} as as_of_date
    from customers
),

-- the rules above, shared with the history (int_customer_lifecycle_checkpoints): macros/history.sql
staged as (
    {{ lifecycle_stages('customer_dates', 'purchase_days', 'first_contacts') }}
),

final as (
    select
        customer_id,
        {{ as_of_date() }} as as_of_date,
        lifecycle_stage,
        case lifecycle_stage
            when 'potential' then 'no contact from the customer and no revenue order yet'
            when 'first_contact' then {{ dbt.concat([
                "'first contact on '", dbt.cast('first_contact_date', dbt.type_string()), "', no revenue order yet'",
            ]) }}
            when 'reactivated' then {{ dbt.concat([
                "'ordered again on '", dbt.cast('reactivated_on', dbt.type_string()),
                "' after '", dbt.cast('reactivation_gap_days', dbt.type_string()), "' days without an order'",
            ]) }}
            else {{ dbt.concat([
                "'last order '", dbt.cast('last_order_date', dbt.type_string()),
                "' ('", dbt.cast('days_since_last_order', dbt.type_string()), "' days ago); '",
                "'order days in the last " ~ var('rfm_window_days') ~ " days: '",
                dbt.cast('window_purchase_days', dbt.type_string()),
            ]) }}
        end as stage_reason,
        first_contact_date,
        cast(days_since_last_order as integer) as days_since_last_order,
        cast(coalesce(order_count, 0) as integer) as order_count
    from staged
)

select * from final
