-- One row per survey answer submitted on or before the as-of date, with the resolved customer: the answer
-- grain that CSAT and NPS need (a mean or an NPS of per-customer figures is not the figure of the answers).
-- The satisfaction marts (customer_satisfaction, satisfaction_by_segment) aggregate the same answers; the
-- semantic layer (models/analytics/semantic) defines CSAT and NPS over this mart.

with

responses as (select * from {{ ref('int_survey_responses_linked') }}),

final as (
    select
        response_id,
        customer_id,
        submitted_at,
        submitted_date,
        survey_type,
        touchpoint,
        ticket_id,
        cast(csat_score as integer) as csat_score,
        cast(nps_score as integer) as nps_score,
        nps_category,
        cast(expectation_gap as integer) as expectation_gap
    from responses
)

select * from final
