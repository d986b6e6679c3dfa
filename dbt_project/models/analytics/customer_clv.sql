-- Each customer's value so far (revenue orders in fct_orders up to the as-of date) beside the CLV stage's
-- predictions for the as-of date (analytics.customer_clv_predictions: Pareto/NBD + Gamma-Gamma, or their
-- documented fallback). Customers without a revenue order have no prediction: model_status 'no_purchase'.
-- When the CLV models failed (analytics.model_runs), buyers have null predictions and model_status 'failed'.

with

customers as (select * from {{ ref('dim_customers') }}),

orders as (select * from {{ ref('fct_orders') }}),

clv_predictions as (select * from {{ source('analytics', 'customer_clv_predictions') }}),

model_runs as (select * from {{ source('analytics', 'model_runs') }}),

purchase_days as (select * from {{ ref('int_customer_purchase_days') }}),

purchasers as (
    select distinct customer_id
    from purchase_days
    where purchase_date <= {{ as_of_date() }}
),

purchase_model_run as (
    select version
    from model_runs
    where as_of_date = {{ as_of_date() }}
        and model = 'pareto_nbd'
),

history as (
    select
        customer_id,
        sum(net_amount) as historical_revenue,
        sum(coalesce(margin_amount, 0)) as historical_margin,
        count(*) as order_count
    from orders
    where is_revenue
        and customer_id is not null
        and ordered_date <= {{ as_of_date() }}
    group by customer_id
),

predictions as (
    select *
    from clv_predictions
    where as_of_date = {{ as_of_date() }}
),

final as (
    select
        customers.customer_id,
        {{ as_of_date() }} as as_of_date,
        cast(coalesce(history.historical_revenue, 0) as decimal(18, 2)) as historical_revenue,
        cast(coalesce(history.historical_margin, 0) as decimal(18, 2)) as historical_margin,
        cast(coalesce(history.order_count, 0) as integer) as order_count,
        cast(predictions.p_alive as {{ type_double() }}) as p_alive,
        cast(predictions.expected_purchases_90d as {{ type_double() }}) as expected_purchases_90d,
        cast(predictions.expected_purchases_365d as {{ type_double() }}) as expected_purchases_365d,
        cast(predictions.expected_avg_spend as {{ type_double() }}) as expected_avg_spend,
        cast(predictions.predicted_clv_12m as {{ type_double() }}) as predicted_clv_12m,
        case when predictions.customer_id is not null then purchase_model_run.version end as model_version,
        coalesce(
            predictions.model_status,
            case when purchasers.customer_id is not null then 'failed' else 'no_purchase' end
        ) as model_status
    from customers
    left join history
        on customers.customer_id = history.customer_id
    left join predictions
        on customers.customer_id = predictions.customer_id
    left join purchasers
        on customers.customer_id = purchasers.customer_id
    left join purchase_model_run
        on true
)

select * from final
