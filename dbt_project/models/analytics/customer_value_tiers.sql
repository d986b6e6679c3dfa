-- A/B/C value tiers, gold and costly customers as of the as-of date (every customer of dim_customers).
--
-- Value basis: net revenue in the RFM window (customer_rfm.monetary; 0 without a purchase in the window).
-- Customers are ordered by value, highest first, ties by customer_id; cumulative_value_share is the share
-- of all positive value held by the customer and everyone before them. Tier by the share held *before*
-- the customer: A while it is below var tier_a_share (so A is the smallest group holding at least 80% of
-- value), B while below tier_a_share + tier_b_share, else C. Customers without positive value are C.
-- Gold: the top var gold_share of customers with a positive predicted 12-month CLV (customer_clv), at least
-- one when anyone has such a CLV: rank <= ceil(gold_share x that count), ties by customer_id.
-- Costly: (1) bought before but no revenue order for var costly_inactive_days days, or (2) service cost in
-- the RFM window - tickets opened x var cost_per_ticket + returned amount - above the margin earned in the
-- window. costly_reason says which, with the figures.

{%- set tier_a = var('tier_a_share') %}
{%- set tier_b = var('tier_b_share') %}
{%- set inactive_days = var('costly_inactive_days') | int %}
{%- set cost_per_ticket = var('cost_per_ticket') %}

with

customers as (select * from {{ ref('dim_customers') }}),

customer_rfm as (select * from {{ ref('customer_rfm') }}),

customer_clv as (select * from {{ ref('customer_clv') }}),

orders as (select * from {{ ref('fct_orders') }}),

tickets as (select * from {{ ref('fct_support_tickets') }}),

window_orders as (
    select
        customer_id,
        sum(case when is_revenue then coalesce(margin_amount, 0) else 0 end) as window_margin,
        sum(returned_amount) as window_returned_amount
    from orders
    where customer_id is not null
        and ordered_date >= {{ rfm_window_start_date() }}
        and ordered_date <= {{ as_of_date() }}
    group by customer_id
),

last_orders as (
    select
        customer_id,
        max(ordered_date) as last_order_date
    from orders
    where customer_id is not null
        and is_revenue
        and ordered_date <= {{ as_of_date() }}
    group by customer_id
),

window_tickets as (
    select
        customer_id,
        count(*) as window_tickets
    from tickets
    where customer_id is not null
        and cast(opened_at as date) >= {{ rfm_window_start_date() }}
    group by customer_id
),

valued as (
    select
        customers.customer_id,
        coalesce(customer_rfm.monetary, 0) as value_amount,
        case when customer_rfm.monetary > 0 then customer_rfm.monetary else 0 end as positive_value,
        customer_clv.predicted_clv_12m,
        last_orders.last_order_date,
        coalesce(window_orders.window_margin, 0) as window_margin,
        coalesce(window_orders.window_returned_amount, 0) as window_returned_amount,
        coalesce(window_tickets.window_tickets, 0) as window_tickets
    from customers
    left join customer_rfm
        on customers.customer_id = customer_rfm.customer_id
    left join customer_clv
        on customers.customer_id = customer_clv.customer_id
    left join window_orders
        on customers.customer_id = window_orders.customer_id
    left join last_orders
        on customers.customer_id = last_orders.customer_id
    left join window_tickets
        on customers.customer_id = window_tickets.customer_id
),

ranked as (
    select
        *,
        sum(positive_value) over (
            order by positive_value desc, customer_id rows between unbounded preceding and current row
        ) as cumulative_value,
        sum(positive_value) over () as total_value,
        case
            when predicted_clv_12m > 0
                then row_number() over (
                    order by case when predicted_clv_12m > 0 then 0 else 1 end, predicted_clv_12m desc, customer_id
                )
        end as clv_rank,
        sum(case when predicted_clv_12m > 0 then 1 else 0 end) over () as clv_customers,
        window_tickets * {{ cost_per_ticket }} + window_returned_amount as service_cost
    from valued
),

tiered as (
    select
        *,
        case when total_value > 0 then cast(cumulative_value as double precision) / total_value end
            as cumulative_value_share,
        case
            when positive_value <= 0 or total_value <= 0 then 'C'
            when (cumulative_value - positive_value) < {{ tier_a }} * total_value then 'A'
            when (cumulative_value - positive_value) < ({{ tier_a }} + {{ tier_b }}) * total_value then 'B'
            else 'C'
        end as value_tier,
        coalesce(clv_rank <= ceil({{ var('gold_share') }} * clv_customers), false) as is_gold,
        last_order_date is not null
            and last_order_date <= {{ days_after(as_of_date(), -inactive_days) }} as is_inactive,
        service_cost > 0 and service_cost > window_margin as is_service_costly
    from ranked
),

final as (
    select
        customer_id,
        {{ as_of_date() }} as as_of_date,
        'net_revenue_last_{{ var('rfm_window_days') }}_days' as value_basis,
        cast(value_amount as decimal(18, 2)) as value_amount,
        value_tier,
        cast(cumulative_value_share as double precision) as cumulative_value_share,
        is_gold,
        is_inactive or is_service_costly as is_costly,
        nullif(
            concat_ws(
                '; ',
                case
                    when is_inactive then {{ dbt.concat([
                        "'no order for " ~ inactive_days ~ " days or more (last order '",
                        dbt.cast('last_order_date', dbt.type_string()), "')'",
                    ]) }}
                end,
                case
                    when is_service_costly then {{ dbt.concat([
                        "'service cost '", dbt.cast('cast(service_cost as decimal(18, 2))', dbt.type_string()),
                        "' ('", dbt.cast('window_tickets', dbt.type_string()), "' tickets x " ~ cost_per_ticket ~ " + returns '",
                        dbt.cast('cast(window_returned_amount as decimal(18, 2))', dbt.type_string()),
                        "') above margin '", dbt.cast('cast(window_margin as decimal(18, 2))', dbt.type_string()),
                        "' in the last " ~ var('rfm_window_days') ~ " days'",
                    ]) }}
                end
            ),
            ''
        ) as costly_reason
    from tiered
)

select * from final
