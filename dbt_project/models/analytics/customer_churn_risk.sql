-- The churn stage's score for each customer with a purchase by the as-of date (analytics.churn_predictions),
-- beside the Pareto/NBD baseline (probability of no purchase in the churn horizon) and the model run that
-- scored it (analytics.model_runs). When the churn model failed, the customer is still here with the
-- score columns null and model_status 'failed' (the reason is in model_runs).

with

churn_predictions as (select * from {{ source('analytics', 'churn_predictions') }}),

churn_model_runs as (select * from {{ source('analytics', 'churn_model_runs') }}),

model_runs as (select * from {{ source('analytics', 'model_runs') }}),

purchase_days as (select * from {{ ref('int_customer_purchase_days') }}),

customers as (select * from {{ ref('dim_customers') }}),

purchasers as (
    select distinct customer_id
    from purchase_days
    where purchase_date <= {{ as_of_date() }}
),

predictions as (
    select *
    from churn_predictions
    where as_of_date = {{ as_of_date() }}
),

scorer as (
    select model as scored_by
    from churn_model_runs
    where as_of_date = {{ as_of_date() }}
),

churn_run as (
    select version, status
    from model_runs
    where as_of_date = {{ as_of_date() }}
        and model = 'churn'
),

final as (
    select
        purchasers.customer_id,
        {{ as_of_date() }} as as_of_date,
        cast(predictions.churn_score as {{ type_double() }}) as churn_score,
        predictions.churn_band,
        predictions.top_reason_1,
        predictions.top_reason_2,
        predictions.top_reason_3,
        cast(predictions.baseline_score as {{ type_double() }}) as baseline_score,
        case when predictions.customer_id is not null then scorer.scored_by end as scored_by,
        churn_run.version as model_version,
        coalesce(predictions.model_status, 'failed') as model_status
    from purchasers
    -- customers merged away since the stage ran have no row in dim_customers: leave them out
    inner join customers
        on purchasers.customer_id = customers.customer_id
    left join predictions
        on purchasers.customer_id = predictions.customer_id
    -- one row at most each (one run per model and date): attached to every customer
    left join scorer
        on true
    left join churn_run
        on true
)

select * from final
