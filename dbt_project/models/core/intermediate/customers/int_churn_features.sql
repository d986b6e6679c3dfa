-- The churn feature table (customer360.churn.features documents every column): one row per resolved
-- customer per feature date, for the dates the churn stage needs: T = R - churn_horizon_days (training; its
-- labels come from the rows of R) and R, where R is the models' refit date (macro model_refit_date, the
-- as-of date itself on a refit day), and the as-of date (scoring). Every feature of a
-- date reads data up to and including that date only. p_alive and expected_purchases_90d are added in
-- Python (customer360.churn.warehouse_features) with the Pareto/NBD parameters fitted in the run.
--
-- Purchase features follow customer360.churn.features.purchase_features exactly (a test compares them):
-- recency_days = days since the last purchase day; frequency = purchase days - 1; monetary = net amount per
-- purchase day; trend_ratio = (purchase days in (D-w, D] + 1) / (purchase days in (D-2w, D-w] + 1) with
-- w = var churn_trend_window_days; tenure_days = days since the first purchase day. Null for a customer
-- without a purchase by D (not in the churn population).
-- Service features: complaints_90d = complaint tickets opened in (D-90, D]; sla_breaches_90d = tickets
-- opened in (D-90, D] whose SLA was breached by the end of D (macro sla_met), both from the ticket version
-- current on D. complaints_since_last_purchase / sla_breaches_since_last_purchase: the same counts over the
-- tickets opened after the customer's last purchase day (up to D, any age): a complaint not followed by a
-- purchase is the mark of a customer leaving over it; null without a purchase by D.
-- Survey features: the latest CSAT and NPS answer submitted by D.

{%- set window = var('churn_trend_window_days') | int %}
{%- set service_window = 90 %}

with

customers as (select * from {{ ref('int_customers_golden_record') }}),

purchase_days as (select * from {{ ref('int_customer_purchase_days') }}),

ticket_versions as (select * from {{ ref('int_support_ticket_versions') }}),

survey_responses as (select * from {{ ref('int_survey_responses_linked') }}),

feature_dates as (
    -- the training date and label date of the run's model (refit date R - horizon, R) and the scoring date
    select distinct feature_date
    from (
        select {{ days_after(model_refit_date(), -(var('churn_horizon_days') | int)) }} as feature_date
        union all
        select {{ model_refit_date() }} as feature_date
        union all
        select {{ as_of_date() }} as feature_date
    ) as run_dates
),

customer_dates as (
    select
        customers.customer_id,
        feature_dates.feature_date
    from customers
    cross join feature_dates
),

purchases as (
    select
        feature_dates.feature_date,
        purchase_days.customer_id,
        purchase_days.purchase_date,
        purchase_days.net_amount
    from purchase_days
    inner join feature_dates
        on purchase_days.purchase_date <= feature_dates.feature_date
),

purchase_features as (
    select
        customer_id,
        feature_date,
        cast({{ dbt.datediff('max(purchase_date)', 'feature_date', 'day') }} as {{ type_double() }}) as recency_days,
        cast(count(*) - 1 as {{ type_double() }}) as frequency,
        cast(sum(net_amount) as {{ type_double() }}) / count(*) as monetary,
        (
            sum(case when purchase_date > {{ days_after('feature_date', -window) }} then 1 else 0 end) + 1.0
        ) / (
            sum(
                case
                    when purchase_date > {{ days_after('feature_date', -2 * window) }}
                        and purchase_date <= {{ days_after('feature_date', -window) }}
                        then 1
                    else 0
                end
            ) + 1.0
        ) as trend_ratio,
        cast({{ dbt.datediff('min(purchase_date)', 'feature_date', 'day') }} as {{ type_double() }}) as tenure_days,
        max(purchase_date) as last_purchase_date
    from purchases
    group by customer_id, feature_date
),

current_ticket_versions as (
    -- the version of each ticket that was current at the end of each feature date
    select
        feature_dates.feature_date,
        ticket_versions.*,
        row_number() over (
            partition by feature_dates.feature_date, ticket_versions.ticket_id
            order by
                ticket_versions.updated_at desc,
                ticket_versions._load_date desc,
                ticket_versions._source_file desc,
                ticket_versions._source_line desc
        ) as version_rank
    from ticket_versions
    inner join feature_dates
        on ticket_versions.updated_date <= feature_dates.feature_date
),

service_features as (
    select
        customer_id,
        feature_date,
        cast(sum(case when is_complaint then 1 else 0 end) as {{ type_double() }}) as complaints_90d,
        cast(
            sum(case when {{ sla_met('feature_date') }} = false then 1 else 0 end) as {{ type_double() }}
        ) as sla_breaches_90d
    from current_ticket_versions
    where version_rank = 1
        and customer_id is not null
        and cast(opened_at as date) > {{ days_after('feature_date', -service_window) }}
        and cast(opened_at as date) <= feature_date
    group by customer_id, feature_date
),

since_purchase_features as (
    select
        purchase_features.customer_id,
        purchase_features.feature_date,
        cast(
            sum(case when current_ticket_versions.is_complaint then 1 else 0 end) as {{ type_double() }}
        ) as complaints_since_last_purchase,
        cast(
            sum(case when {{ sla_met('purchase_features.feature_date', 'current_ticket_versions') }} = false
                then 1 else 0 end) as {{ type_double() }}
        ) as sla_breaches_since_last_purchase
    from purchase_features
    inner join current_ticket_versions
        on purchase_features.customer_id = current_ticket_versions.customer_id
        and purchase_features.feature_date = current_ticket_versions.feature_date
    where current_ticket_versions.version_rank = 1
        and cast(current_ticket_versions.opened_at as date)
            > purchase_features.last_purchase_date
        and cast(current_ticket_versions.opened_at as date) <= purchase_features.feature_date
    group by purchase_features.customer_id, purchase_features.feature_date
),

survey_answers as (
    select
        feature_dates.feature_date,
        survey_responses.customer_id,
        survey_responses.csat_score,
        survey_responses.nps_score,
        row_number() over (
            partition by feature_dates.feature_date, survey_responses.customer_id
            order by
                case when survey_responses.csat_score is null then 1 else 0 end,
                survey_responses.submitted_at desc,
                survey_responses.response_id desc
        ) as csat_rank,
        row_number() over (
            partition by feature_dates.feature_date, survey_responses.customer_id
            order by
                case when survey_responses.nps_score is null then 1 else 0 end,
                survey_responses.submitted_at desc,
                survey_responses.response_id desc
        ) as nps_rank
    from survey_responses
    inner join feature_dates
        on survey_responses.submitted_date <= feature_dates.feature_date
    where survey_responses.customer_id is not null
),

survey_features as (
    select
        customer_id,
        feature_date,
        cast(max(case when csat_rank = 1 then csat_score end) as {{ type_double() }}) as last_csat,
        cast(max(case when nps_rank = 1 then nps_score end) as {{ type_double() }}) as last_nps
    from survey_answers
    group by customer_id, feature_date
),

final as (
    select
        customer_dates.customer_id,
        customer_dates.feature_date,
        purchase_features.recency_days,
        purchase_features.frequency,
        purchase_features.monetary,
        purchase_features.trend_ratio,
        purchase_features.tenure_days,
        coalesce(service_features.complaints_90d, 0) as complaints_90d,
        coalesce(service_features.sla_breaches_90d, 0) as sla_breaches_90d,
        case
            when purchase_features.recency_days is not null
                then coalesce(since_purchase_features.complaints_since_last_purchase, 0)
        end as complaints_since_last_purchase,
        case
            when purchase_features.recency_days is not null
                then coalesce(since_purchase_features.sla_breaches_since_last_purchase, 0)
        end as sla_breaches_since_last_purchase,
        survey_features.last_csat,
        survey_features.last_nps
    from customer_dates
    left join purchase_features
        on customer_dates.customer_id = purchase_features.customer_id
        and customer_dates.feature_date = purchase_features.feature_date
    left join service_features
        on customer_dates.customer_id = service_features.customer_id
        and customer_dates.feature_date = service_features.feature_date
    left join since_purchase_features
        on customer_dates.customer_id = since_purchase_features.customer_id
        and customer_dates.feature_date = since_purchase_features.feature_date
    left join survey_features
        on customer_dates.customer_id = survey_features.customer_id
        and customer_dates.feature_date = survey_features.feature_date
)

select * from final
