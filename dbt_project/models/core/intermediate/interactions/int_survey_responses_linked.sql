-- Survey responses submitted on or before the as-of date with the resolved customer: the response's own
-- identity link (xref on surveys/response_id) or, for a response that only names the ticket it follows up,
-- the customer of that ticket.

with

responses as (select * from {{ ref('stg_surveys__responses') }}),

ticket_versions as (select * from {{ ref('int_support_ticket_versions') }}),

customer_source_xref as (select * from {{ ref('int_source_record_customers') }}),

ticket_customers as (
    select distinct
        ticket_id,
        customer_id
    from ticket_versions
    where customer_id is not null
),

final as (
    select
        responses.response_id,
        responses.submitted_at,
        cast(responses.submitted_at as date) as submitted_date,
        coalesce(customer_source_xref.customer_id, ticket_customers.customer_id) as customer_id,
        responses.survey_type,
        responses.touchpoint,
        responses.ticket_id,
        responses.csat_score,
        responses.nps_score,
        case
            when responses.nps_score >= 9 then 'promoter'
            when responses.nps_score >= 7 then 'passive'
            when responses.nps_score >= 0 then 'detractor'
        end as nps_category,
        responses.expectation_score,
        responses.perceived_score,
        responses.perceived_score - responses.expectation_score as expectation_gap
    from responses
    left join customer_source_xref
        on customer_source_xref.source_channel = 'surveys'
        and responses.response_id = customer_source_xref.source_record_id
    left join ticket_customers
        on responses.ticket_id = ticket_customers.ticket_id
    where cast(responses.submitted_at as date) <= {{ as_of_date() }}
)

select * from final
