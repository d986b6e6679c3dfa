-- Each customer's survey answers up to the as-of date: CSAT (1-5), NPS (0-10) and the expectation gap
-- (perceived - expectation, 1-10 scales: negative = the service fell short of what they expected).
-- One row per customer with at least one response.
--
-- csat_trend: the average CSAT of the last 90 days, (D-90, D], against the 90 days before, (D-180, D-90]:
-- 'improving' / 'declining' when it moved by at least var csat_trend_min_change, else 'stable'; null when
-- either window has no CSAT answer. nps_category of the latest NPS answer: promoter 9-10, passive 7-8,
-- detractor 0-6.

{%- set recent_start = days_after(as_of_date(), -89) %}
{%- set previous_start = days_after(as_of_date(), -179) %}
{%- set min_change = var('csat_trend_min_change') %}

with

responses as (select * from {{ ref('int_survey_responses_linked') }}),

ranked as (
    select
        *,
        row_number() over (
            partition by customer_id
            order by case when csat_score is null then 1 else 0 end, submitted_at desc, response_id desc
        ) as csat_rank,
        row_number() over (
            partition by customer_id
            order by case when nps_score is null then 1 else 0 end, submitted_at desc, response_id desc
        ) as nps_rank
    from responses
    where customer_id is not null
),

per_customer as (
    select
        customer_id,
        max(case when csat_rank = 1 then csat_score end) as latest_csat,
        max(case when csat_rank = 1 and csat_score is not null then submitted_date end) as latest_csat_date,
        {{ exact_avg('case when submitted_date >= ' ~ recent_start ~ ' then csat_score end') }}
            as avg_csat_90d,
        {{ exact_avg(
            'case when submitted_date >= ' ~ previous_start ~ ' and submitted_date < ' ~ recent_start
            ~ ' then csat_score end'
        ) }} as avg_csat_previous_90d,
        max(case when nps_rank = 1 then nps_score end) as latest_nps,
        max(case when nps_rank = 1 then nps_category end) as nps_category,
        max(case when nps_rank = 1 and nps_score is not null then submitted_date end) as latest_nps_date,
        {{ exact_avg('expectation_gap') }} as avg_expectation_gap,
        count(*) as responses
    from ranked
    group by customer_id
),

final as (
    select
        customer_id,
        cast(latest_csat as integer) as latest_csat,
        latest_csat_date,
        avg_csat_90d,
        case
            when avg_csat_90d is null or avg_csat_previous_90d is null then null
            when avg_csat_90d - avg_csat_previous_90d >= {{ min_change }} then 'improving'
            when avg_csat_previous_90d - avg_csat_90d >= {{ min_change }} then 'declining'
            else 'stable'
        end as csat_trend,
        cast(latest_nps as integer) as latest_nps,
        nps_category,
        latest_nps_date,
        avg_expectation_gap,
        cast(responses as integer) as responses
    from per_customer
)

select * from final
