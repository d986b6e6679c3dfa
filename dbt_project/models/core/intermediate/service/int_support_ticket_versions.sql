-- Every version of every service-desk ticket written on or before the as-of date, with its resolved customer
-- and the service measures of that version. fct_support_tickets keeps each ticket's latest version;
-- int_churn_features reads the version that was current on each feature date, so nothing from after a
-- feature date leaks into its features.
--
-- Definitions (DECISIONLOG-style; the YAML repeats them):
-- - sla_hours: as delivered, else var default_sla_hours; sla_due_at = opened_at + sla_hours.
-- - resolved: status resolved or closed with a resolved_at (a reopened ticket set back to open is not).
-- - SLA met: resolved by sla_due_at. A ticket still unresolved when its SLA ran out is a breach as soon as
--   the due time has passed by the end of the day it is judged on; the macro sla_met(day) says so for a
--   given day (fct_support_tickets: the as-of date; int_churn_features: each feature date).
-- - is_first_contact_resolution: resolved, exactly one contact, not reopened (false when contact_count is
--   unknown: first-contact resolution has to be shown, not assumed).

with

tickets as (select * from {{ ref('stg_support_tickets__tickets') }}),

customer_source_xref as (select * from {{ ref('int_source_record_customers') }}),

versions as (
    select
        tickets.ticket_id,
        tickets.updated_at,
        cast(tickets.updated_at as date) as updated_date,
        customer_source_xref.customer_id,
        tickets.contact_channel,
        tickets.category,
        tickets.is_complaint,
        tickets.ticket_status,
        tickets.claim,
        tickets.standard_applied,
        coalesce(tickets.sla_hours, {{ var('default_sla_hours') | int }}) as sla_hours,
        tickets.sla_hours is null as is_default_sla,
        tickets.options_offered,
        tickets.alternative_accepted,
        tickets.opened_at,
        tickets.first_response_at,
        tickets.resolved_at,
        tickets.contact_count,
        tickets.is_reopened,
        tickets.satisfaction_score,
        tickets._load_date,
        tickets._source_file,
        tickets._source_line
    from tickets
    left join customer_source_xref
        on customer_source_xref.source_channel = 'tickets'
        and tickets.ticket_id = customer_source_xref.source_record_id
    where cast(tickets.updated_at as date) <= {{ as_of_date() }}
),

measured as (
    select
        *,
        {{ add_hours('opened_at', 'sla_hours') }} as sla_due_at,
        ticket_status in ('resolved', 'closed') and resolved_at is not null as is_resolved,
        case
            when options_offered is null then 0
            else length(options_offered) - length(replace(options_offered, '|', '')) + 1
        end as options_offered_count,
        case
            when ticket_status in ('resolved', 'closed') and resolved_at is not null
                then {{ hours_between('opened_at', 'resolved_at') }}
        end as hours_to_resolve
    from versions
),

final as (
    select
        ticket_id,
        updated_at,
        updated_date,
        customer_id,
        contact_channel,
        category,
        is_complaint,
        ticket_status,
        claim,
        standard_applied,
        sla_hours,
        is_default_sla,
        sla_due_at,
        options_offered,
        options_offered_count,
        alternative_accepted,
        alternative_accepted is not null as is_closed_with_alternative,
        opened_at,
        first_response_at,
        resolved_at,
        is_resolved,
        hours_to_resolve,
        contact_count,
        is_reopened,
        coalesce(is_resolved and contact_count = 1 and not is_reopened, false) as is_first_contact_resolution,
        satisfaction_score,
        _load_date,
        _source_file,
        _source_line
    from measured
)

select * from final
