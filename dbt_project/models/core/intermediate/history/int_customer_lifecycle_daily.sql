-- Each customer's lifecycle stage on every date of the history (int_history_dates) from the day they were
-- first seen, by the rules of customer_lifecycle (the lifecycle_stages macro, macros/history.sql) applied
-- to the purchase days and contacts dated on or before that date. Computed from the facts this run sees,
-- with today's customers (identity as resolved now), so the history is the same whatever dates ran before
-- and in whatever order; its rows for the as-of date are customer_lifecycle's stages.

with

customers as (select * from {{ ref('dim_customers') }}),

history_dates as (select * from {{ ref('int_history_dates') }}),

purchase_days as (select * from {{ ref('int_customer_purchase_days') }}),

interactions as (select * from {{ ref('fct_interactions') }}),

first_contacts as (
    select
        customer_id,
        min(interaction_date) as first_contact_date
    from interactions
    where customer_id is not null
        and is_customer_initiated
        and interaction_type <> 'order'
        and interaction_date <= {{ as_of_date() }}
    group by customer_id
),

-- a customer enters the history on the day of their first record (every customer of the as-of date is in
-- its row, as in customer_lifecycle)
customer_dates as (
    select
        customers.customer_id,
        history_dates.as_of_date
    from customers
    inner join history_dates
        on history_dates.as_of_date >= cast(customers.first_seen_at as date)
        or history_dates.as_of_date = {{ as_of_date() }}
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
