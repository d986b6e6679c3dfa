-- The churn stage's score for each customer with a purchase by the as-of date (analytics.churn_predictions),
-- beside the baseline 1 - P(alive) from the CLV stage's BG/NBD (or fallback) for the same date.

with

churn_predictions as (select * from {{ source('analytics', 'churn_predictions') }}),

clv_predictions as (select * from {{ source('analytics', 'customer_clv_predictions') }}),

customers as (select * from {{ ref('dim_customers') }}),

final as (
    select
        churn_predictions.customer_id,
        churn_predictions.as_of_date,
        cast(churn_predictions.churn_score as double precision) as churn_score,
        churn_predictions.churn_band,
        churn_predictions.top_reason_1,
        churn_predictions.top_reason_2,
        churn_predictions.top_reason_3,
        cast(1.0 - clv_predictions.p_alive as double precision) as baseline_score,
        churn_predictions.model_status
    from churn_predictions
    -- customers merged away since the stage ran have no row in dim_customers: leave them out
    inner join customers
        on churn_predictions.customer_id = customers.customer_id
    left join clv_predictions
        on churn_predictions.customer_id = clv_predictions.customer_id
        and clv_predictions.as_of_date = churn_predictions.as_of_date
    where churn_predictions.as_of_date = {{ as_of_date() }}
)

select * from final
