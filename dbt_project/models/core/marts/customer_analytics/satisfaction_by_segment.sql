-- Survey answers of the RFM window (var rfm_window_days up to the as-of date) per RFM segment and
-- touchpoint. NPS the standard way: 100 x (promoters - detractors) / NPS answers, over the individual
-- answers (not per customer); null without NPS answers. Answers of customers outside customer_rfm (no
-- purchase in the window) and of unidentified respondents form the segment 'Not segmented'; answers
-- without a touchpoint the touchpoint 'unknown'.

with

responses as (select * from {{ ref('int_survey_responses_linked') }}),

customer_rfm as (select * from {{ ref('customer_rfm') }}),

window_responses as (
    select
        coalesce(customer_rfm.rfm_segment, 'Not segmented') as rfm_segment,
        coalesce(responses.touchpoint, 'unknown') as touchpoint,
        responses.csat_score,
        responses.nps_score,
        responses.nps_category,
        responses.expectation_gap
    from responses
    left join customer_rfm
        on responses.customer_id = customer_rfm.customer_id
    where responses.submitted_date >= {{ rfm_window_start_date() }}
),

final as (
    select
        rfm_segment,
        touchpoint,
        cast(count(*) as integer) as responses,
        {{ exact_avg('csat_score') }} as avg_csat,
        cast(
            100.0 * (
                sum(case when nps_category = 'promoter' then 1 else 0 end)
                - sum(case when nps_category = 'detractor' then 1 else 0 end)
            ) / nullif(count(nps_score), 0)
            as {{ type_double() }}
        ) as nps,
        cast(count(nps_score) as integer) as nps_responses,
        {{ exact_avg('expectation_gap') }} as avg_expectation_gap
    from window_responses
    group by rfm_segment, touchpoint
)

select * from final
