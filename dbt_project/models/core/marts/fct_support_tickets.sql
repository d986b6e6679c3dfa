-- Each service-desk ticket as its latest version written on or before the as-of date says it is, with the
-- service measures (definitions: int_support_ticket_versions and the YAML). SLA is judged at the end of the
-- as-of date.

with

ticket_versions as (select * from {{ ref('int_support_ticket_versions') }}),

latest_versions as (
    select
        *,
        row_number() over (
            partition by ticket_id
            order by updated_at desc, _load_date desc, _source_file desc, _source_line desc
        ) as version_rank
    from ticket_versions
),

final as (
    select
        ticket_id,
        customer_id,
        contact_channel as channel,
        category,
        is_complaint,
        claim,
        standard_applied,
        cast(sla_hours as integer) as sla_hours,
        sla_due_at,
        options_offered,
        cast(options_offered_count as integer) as options_offered_count,
        alternative_accepted,
        is_closed_with_alternative,
        opened_at,
        first_response_at,
        resolved_at,
        is_resolved,
        hours_to_resolve,
        cast(contact_count as integer) as contact_count,
        is_reopened,
        is_first_contact_resolution,
        {{ sla_met(as_of_date()) }} as is_sla_met,
        cast(satisfaction_score as integer) as satisfaction_score,
        ticket_status as status,
        updated_at as last_updated_at
    from latest_versions
    where version_rank = 1
)

select * from final
