-- Value by realised revenue, contribution and warning signs per customer of dim_customers as of the as-of
-- date (definitions and reasons in the YAML). Equal values always get the same tier and flags: no
-- ordering by customer_id takes part in any of them.
--
-- value_amount: net revenue in the RFM window (customer_rfm.monetary, the last 12 months; 0 without a
-- purchase). A/B/C by the share of all positive value held by the customers with a higher value: A while
-- below var tier_a_share, B while below tier_a_share + tier_b_share, else C (ties share one tier).
-- Gold: rank by value_amount <= ceil(var gold_share x buyers in the window) (ties at the edge all gold).
-- predicted_clv_12m sits beside it; rising: predicted CLV in the top (1 - var rising_min_clv_percentile)
-- of the customers with a prediction, while the realised value is tier C.
-- Contribution in the window: margin (net revenue after discounts and returns, minus the cost of the
-- units kept) - tickets opened x var cost_per_ticket. Costly: contribution below zero.
-- Declining top customer: gold by the value of the prior period, and the recent period's value below
-- (1 - var decline_min_drop) x that value; both periods last least(365, data span / 2) days.
-- Complaining top customer: tier A with at least var top_complaints_min complaints in the last 365 days.

{%- set tier_a = var('tier_a_share') %}
{%- set tier_b = var('tier_b_share') %}
{%- set cost_per_ticket = var('cost_per_ticket') %}

with

customers as (select * from {{ ref('dim_customers') }}),

customer_rfm as (select * from {{ ref('customer_rfm') }}),

customer_clv as (select * from {{ ref('customer_clv') }}),

purchase_days as (select * from {{ ref('int_customer_purchase_days') }}),

orders as (select * from {{ ref('fct_orders') }}),

tickets as (select * from {{ ref('fct_support_tickets') }}),

service_summary as (select * from {{ ref('customer_service_summary') }}),

-- the data's span: from the first order delivered (any customer) to the as-of date
data_span as (
    select
        cast(
            greatest(coalesce(min(ordered_date), {{ as_of_date() }}), {{ rfm_window_start_date() }}) as date
        ) as window_start,
        cast(
            floor(({{ dbt.datediff('min(ordered_date)', as_of_date(), 'day') }} + 1) / 2.0) as integer
        ) as half_span_days
    from orders
    where ordered_date <= {{ as_of_date() }}
),

periods as (
    select
        window_start,
        {{ dbt.datediff('window_start', as_of_date(), 'day') }} + 1 as window_days,
        least(365, half_span_days) as period_days
    from data_span
),

window_margin as (
    select
        purchase_days.customer_id,
        sum(coalesce(purchase_days.margin_amount, 0)) as margin_amount
    from purchase_days
    cross join periods
    where purchase_days.purchase_date >= periods.window_start
        and purchase_days.purchase_date <= {{ as_of_date() }}
    group by purchase_days.customer_id
),

window_tickets as (
    select
        tickets.customer_id,
        count(*) as ticket_count
    from tickets
    cross join periods
    where tickets.customer_id is not null
        and cast(tickets.opened_at as date) >= periods.window_start
        and cast(tickets.opened_at as date) <= {{ as_of_date() }}
    group by tickets.customer_id
),

period_values as (
    select
        purchase_days.customer_id,
        sum(
            case
                when purchase_days.purchase_date > {{ dbt.dateadd('day', '-2 * periods.period_days', as_of_date()) }}
                    and purchase_days.purchase_date <= {{ dbt.dateadd('day', '-periods.period_days', as_of_date()) }}
                    then purchase_days.net_amount
                else 0
            end
        ) as prior_period_value,
        sum(
            case
                when purchase_days.purchase_date > {{ dbt.dateadd('day', '-periods.period_days', as_of_date()) }}
                    and purchase_days.purchase_date <= {{ as_of_date() }}
                    then purchase_days.net_amount
                else 0
            end
        ) as recent_period_value
    from purchase_days
    cross join periods
    where periods.period_days > 0
    group by purchase_days.customer_id
),

valued as (
    select
        customers.customer_id,
        coalesce(customer_rfm.monetary, 0) as value_amount,
        case when customer_rfm.monetary > 0 then customer_rfm.monetary else 0 end as positive_value,
        case when period_values.prior_period_value > 0 then period_values.prior_period_value else 0 end
            as positive_prior_value,
        coalesce(period_values.prior_period_value, 0) as prior_period_value,
        coalesce(period_values.recent_period_value, 0) as recent_period_value,
        customer_clv.predicted_clv_12m,
        coalesce(window_margin.margin_amount, 0) as margin_amount,
        coalesce(window_tickets.ticket_count, 0) as ticket_count,
        coalesce(service_summary.complaints_12m, 0) as complaints_12m
    from customers
    left join customer_rfm
        on customers.customer_id = customer_rfm.customer_id
    left join customer_clv
        on customers.customer_id = customer_clv.customer_id
    left join period_values
        on customers.customer_id = period_values.customer_id
    left join window_margin
        on customers.customer_id = window_margin.customer_id
    left join window_tickets
        on customers.customer_id = window_tickets.customer_id
    left join service_summary
        on customers.customer_id = service_summary.customer_id
),

-- running sums over whole tie groups (range frame: equal values are peers), so ties share a tier
ranked as (
    select
        *,
        sum(positive_value) over (
            order by positive_value desc range between unbounded preceding and current row
        ) as cumulative_value,
        sum(positive_value) over (partition by positive_value) as tie_value,
        sum(positive_value) over () as total_value,
        rank() over (order by positive_value desc) as value_rank,
        sum(case when positive_value > 0 then 1 else 0 end) over () as buyers,
        rank() over (order by positive_prior_value desc) as prior_value_rank,
        sum(case when positive_prior_value > 0 then 1 else 0 end) over () as prior_buyers,
        case
            when predicted_clv_12m is not null
                then percent_rank() over (
                    partition by case when predicted_clv_12m is null then 0 else 1 end
                    order by predicted_clv_12m
                )
        end as predicted_clv_percentile,
        margin_amount - ticket_count * {{ cost_per_ticket }} as contribution
    from valued
),

tiered as (
    select
        ranked.*,
        periods.window_days,
        periods.period_days,
        case when total_value > 0 then cast(cumulative_value as {{ type_double() }}) / total_value end
            as cumulative_value_share,
        case
            when positive_value <= 0 or total_value <= 0 then 'C'
            when (cumulative_value - tie_value) < {{ tier_a }} * total_value then 'A'
            when (cumulative_value - tie_value) < ({{ tier_a }} + {{ tier_b }}) * total_value then 'B'
            else 'C'
        end as value_tier,
        positive_prior_value > 0
            and prior_value_rank <= ceil({{ var('gold_share') }} * prior_buyers) as was_gold_prior_period,
        positive_value > 0 and value_rank <= ceil({{ var('gold_share') }} * buyers) as is_gold
    from ranked
    cross join periods
),

flagged as (
    select
        *,
        coalesce(
            predicted_clv_percentile >= {{ var('rising_min_clv_percentile') }} and value_tier = 'C', false
        ) as is_rising,
        contribution < 0 as is_costly,
        was_gold_prior_period
            and recent_period_value < (1 - {{ var('decline_min_drop') }}) * prior_period_value
            as is_declining_top_customer,
        value_tier = 'A' and complaints_12m >= {{ var('top_complaints_min') | int }}
            as is_complaining_top_customer
    from tiered
),

final as (
    select
        customer_id,
        {{ as_of_date() }} as as_of_date,
        'net_revenue_last_{{ var('rfm_window_days') }}_days' as value_basis,
        cast(value_amount as decimal(18, 2)) as value_amount,
        value_tier,
        cast(cumulative_value_share as {{ type_double() }}) as cumulative_value_share,
        is_gold,
        cast(predicted_clv_12m as {{ type_double() }}) as predicted_clv_12m,
        cast(predicted_clv_percentile as {{ type_double() }}) as predicted_clv_percentile,
        is_rising,
        cast(window_days as integer) as contribution_window_days,
        cast(margin_amount as decimal(18, 2)) as margin_amount,
        cast(ticket_count * {{ cost_per_ticket }} as decimal(18, 2)) as service_cost,
        cast(contribution as decimal(18, 2)) as contribution,
        is_costly,
        case
            when is_costly then {{ dbt.concat([
                "'contribution '", amount_text('contribution'), "' in the last '", as_text('window_days'),
                "' days: margin '", amount_text('margin_amount'), "' after discounts and returns, service cost '",
                amount_text('ticket_count * ' ~ cost_per_ticket), "' ('", as_text('ticket_count'), "' tickets)'",
            ]) }}
        end as costly_reason,
        cast(period_days as integer) as comparison_period_days,
        cast(prior_period_value as decimal(18, 2)) as prior_period_value,
        cast(recent_period_value as decimal(18, 2)) as recent_period_value,
        coalesce(is_declining_top_customer, false) as is_declining_top_customer,
        cast(complaints_12m as integer) as complaints_12m,
        is_complaining_top_customer
    from flagged
)

select * from final
