-- The business's headline figures on each of the last var kpi_history_days dates up to the as-of date, one
-- row per date, computed from the facts as they stand on the as-of date: the same warehouse gives the same
-- rows whatever dates ran before or in which order (no run log). The run report draws its trends and its
-- "since the previous run" changes from it.
--
-- On date d (h = var churn_horizon_days):
--   customers           customers first seen on or before d (erased customers left out)
--   active_customers    of those, customers with a purchase day in the last h days (not lapsed: the churn
--                       label's rule; not the semantic layer's active_customers metric, buyers in a period)
--   customers_at_risk   of those, customers whose last purchase day is h/2 days ago or more
--                       (customer_lifecycle's at_risk rule)
--   orders, net_revenue revenue orders dated d and their net amount; _30d over (d-30, d]
--   complaints          complaints opened on d; _30d over (d-30, d]
--   nps_90d, avg_csat   over the survey answers of (d-90, d]: NPS = % promoters - % detractors
-- Money is in var default_currency; orders in another currency are counted apart
-- (other_currency_orders_30d) and left out of the sums: the project holds no exchange rates.

{%- set history_days = var('kpi_history_days') | int %}
{%- set horizon = var('churn_horizon_days') | int %}
{%- set currency = var('default_currency') %}

with

customers as (select * from {{ ref('dim_customers') }}),

orders as (select * from {{ ref('fct_orders') }}),

purchase_days as (select * from {{ ref('int_customer_purchase_days') }}),

tickets as (select * from {{ ref('fct_support_tickets') }}),

responses as (select * from {{ ref('int_survey_responses_linked') }}),

kpi_dates as (
    {%- for offset in range(history_days) %}
    select {{ days_after(as_of_date(), -offset) }} as kpi_date
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

-- customers per first-seen day, so that each KPI date sums days rather than scanning every customer
first_seen as (
    select
        cast(first_seen_at as date) as first_seen_date,
        count(*) as customers
    from customers
    where not coalesce(is_deleted, false)
    group by cast(first_seen_at as date)
),

known_customers as (
    select
        kpi_dates.kpi_date,
        coalesce(sum(first_seen.customers), 0) as customers
    from kpi_dates
    left join first_seen
        on first_seen.first_seen_date <= kpi_dates.kpi_date
    group by kpi_dates.kpi_date
),

-- active and at-risk customers are counted among the date's customers (known, not erased), so that they never
-- outnumber them
last_purchases as (
    select
        kpi_dates.kpi_date,
        purchase_days.customer_id,
        max(purchase_days.purchase_date) as last_purchase_date
    from kpi_dates
    inner join purchase_days
        on purchase_days.purchase_date <= kpi_dates.kpi_date
        and purchase_days.purchase_date > {{ days_after('kpi_dates.kpi_date', -horizon) }}
    inner join customers
        on customers.customer_id = purchase_days.customer_id
        and not coalesce(customers.is_deleted, false)
        and cast(customers.first_seen_at as date) <= kpi_dates.kpi_date
    group by kpi_dates.kpi_date, purchase_days.customer_id
),

buyers as (
    select
        kpi_date,
        count(*) as active_customers,
        sum(
            case
                when {{ dbt.datediff('last_purchase_date', 'kpi_date', 'day') }} * 2 >= {{ horizon }} then 1
                else 0
            end
        ) as customers_at_risk
    from last_purchases
    group by kpi_date
),

revenue as (
    select
        kpi_dates.kpi_date,
        sum(
            case
                when orders.ordered_date = kpi_dates.kpi_date and orders.currency = '{{ currency }}' then 1
                else 0
            end
        ) as orders,
        sum(
            case
                when orders.ordered_date = kpi_dates.kpi_date and orders.currency = '{{ currency }}'
                    then orders.net_amount
                else 0
            end
        ) as net_revenue,
        sum(case when orders.currency = '{{ currency }}' then 1 else 0 end) as orders_30d,
        sum(case when orders.currency = '{{ currency }}' then orders.net_amount else 0 end) as net_revenue_30d,
        sum(case when orders.currency <> '{{ currency }}' then 1 else 0 end) as other_currency_orders_30d
    from kpi_dates
    left join orders
        on orders.is_revenue
        and orders.ordered_date <= kpi_dates.kpi_date
        and orders.ordered_date > {{ days_after('kpi_dates.kpi_date', -30) }}
    group by kpi_dates.kpi_date
),

complaints as (
    select
        kpi_dates.kpi_date,
        sum(case when cast(tickets.opened_at as date) = kpi_dates.kpi_date then 1 else 0 end) as complaints,
        count(tickets.ticket_id) as complaints_30d
    from kpi_dates
    left join tickets
        on tickets.is_complaint
        and cast(tickets.opened_at as date) <= kpi_dates.kpi_date
        and cast(tickets.opened_at as date) > {{ days_after('kpi_dates.kpi_date', -30) }}
    group by kpi_dates.kpi_date
),

satisfaction as (
    select
        kpi_dates.kpi_date,
        count(responses.nps_score) as nps_responses_90d,
        sum(case when responses.nps_category = 'promoter' then 1 else 0 end) as promoters,
        sum(case when responses.nps_category = 'detractor' then 1 else 0 end) as detractors,
        count(responses.csat_score) as csat_responses_90d,
        {{ exact_avg('responses.csat_score') }} as avg_csat_90d
    from kpi_dates
    left join responses
        on responses.submitted_date <= kpi_dates.kpi_date
        and responses.submitted_date > {{ days_after('kpi_dates.kpi_date', -90) }}
    group by kpi_dates.kpi_date
),

final as (
    select
        kpi_dates.kpi_date,
        cast('{{ currency }}' as {{ dbt.type_string() }}) as currency,
        cast(known_customers.customers as integer) as customers,
        cast(coalesce(buyers.active_customers, 0) as integer) as active_customers,
        cast(coalesce(buyers.customers_at_risk, 0) as integer) as customers_at_risk,
        cast(coalesce(revenue.orders, 0) as integer) as orders,
        cast(coalesce(revenue.net_revenue, 0) as decimal(18, 2)) as net_revenue,
        cast(coalesce(revenue.orders_30d, 0) as integer) as orders_30d,
        cast(coalesce(revenue.net_revenue_30d, 0) as decimal(18, 2)) as net_revenue_30d,
        cast(coalesce(revenue.other_currency_orders_30d, 0) as integer) as other_currency_orders_30d,
        cast(coalesce(complaints.complaints, 0) as integer) as complaints,
        cast(complaints.complaints_30d as integer) as complaints_30d,
        cast(satisfaction.nps_responses_90d as integer) as nps_responses_90d,
        cast(
            100.0 * (satisfaction.promoters - satisfaction.detractors) / nullif(satisfaction.nps_responses_90d, 0)
            as {{ type_double() }}
        ) as nps_90d,
        cast(satisfaction.csat_responses_90d as integer) as csat_responses_90d,
        satisfaction.avg_csat_90d
    from kpi_dates
    inner join known_customers on kpi_dates.kpi_date = known_customers.kpi_date
    left join buyers on kpi_dates.kpi_date = buyers.kpi_date
    inner join revenue on kpi_dates.kpi_date = revenue.kpi_date
    inner join complaints on kpi_dates.kpi_date = complaints.kpi_date
    inner join satisfaction on kpi_dates.kpi_date = satisfaction.kpi_date
)

select * from final
