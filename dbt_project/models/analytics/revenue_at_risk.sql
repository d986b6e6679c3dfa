-- Revenue at risk on the as-of date, one row per churn band (low, medium, high, and 'unscored' for the
-- customers the churn model left without a score): the customers of the band, the net revenue they brought
-- in the RFM window (customer_rfm.monetary, var rfm_window_days up to the as-of date), that revenue weighted
-- by each customer's churn score (the revenue expected to be lost if they behave as scored), and their
-- predicted 12-month CLV (a margin, customer_clv). Money in var default_currency, as the marts it reads.

with

churn as (select * from {{ ref('customer_churn_risk') }}),

rfm as (select * from {{ ref('customer_rfm') }}),

clv as (select * from {{ ref('customer_clv') }}),

per_customer as (
    select
        coalesce(churn.churn_band, 'unscored') as churn_band,
        churn.churn_score,
        coalesce(rfm.monetary, 0) as net_revenue_12m,
        clv.predicted_clv_12m
    from churn
    left join rfm
        on churn.customer_id = rfm.customer_id
    left join clv
        on churn.customer_id = clv.customer_id
),

final as (
    select
        {{ as_of_date() }} as as_of_date,
        churn_band,
        cast('{{ var('default_currency') }}' as {{ dbt.type_string() }}) as currency,
        cast(count(*) as integer) as customers,
        {{ exact_avg('churn_score') }} as avg_churn_score,
        cast(sum(net_revenue_12m) as decimal(18, 2)) as net_revenue_12m,
        cast({{ exact_sum('churn_score * net_revenue_12m') }} as decimal(18, 2)) as revenue_at_risk,
        cast({{ exact_sum('predicted_clv_12m') }} as {{ type_double() }}) as predicted_clv_12m
    from per_customer
    group by churn_band
)

select * from final
