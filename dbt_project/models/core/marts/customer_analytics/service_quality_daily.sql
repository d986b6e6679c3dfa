-- Service quality per day a ticket was opened, contact channel and category, over the tickets' latest
-- versions (fct_support_tickets). fcr_rate is over the day's tickets resolved by the as-of date;
-- sla_adherence_rate over the tickets whose SLA is decided by then (resolved, or still open past their due
-- time: a breach); alternative_close_share over the resolved complaints. Resolve-time percentiles are in
-- service_quality_weekly, where the groups hold enough tickets.

with

tickets as (select * from {{ ref('fct_support_tickets') }}),

daily as (
    select
        cast(opened_at as date) as service_date,
        channel,
        category,
        count(*) as tickets_opened,
        sum(case when is_resolved then 1 else 0 end) as tickets_resolved,
        sum(case when is_complaint then 1 else 0 end) as complaints,
        sum(case when is_resolved and is_first_contact_resolution then 1 else 0 end) as first_contact_resolutions,
        sum(case when is_sla_met is not null then 1 else 0 end) as tickets_sla_judged,
        sum(case when not is_resolved and is_sla_met = false then 1 else 0 end) as tickets_open_past_due,
        sum(case when is_sla_met then 1 else 0 end) as tickets_within_sla,
        sum(case when is_resolved and is_complaint then 1 else 0 end) as complaints_resolved,
        sum(
            case when is_resolved and is_complaint and is_closed_with_alternative then 1 else 0 end
        ) as complaints_closed_with_alternative
    from tickets
    group by cast(opened_at as date), channel, category
),

final as (
    select
        service_date,
        channel,
        category,
        cast(tickets_opened as integer) as tickets_opened,
        cast(tickets_resolved as integer) as tickets_resolved,
        cast(complaints as integer) as complaints,
        cast(tickets_sla_judged as integer) as tickets_sla_judged,
        cast(tickets_open_past_due as integer) as tickets_open_past_due,
        cast(first_contact_resolutions as {{ type_double() }}) / nullif(tickets_resolved, 0) as fcr_rate,
        cast(tickets_within_sla as {{ type_double() }}) / nullif(tickets_sla_judged, 0) as sla_adherence_rate,
        cast(complaints_closed_with_alternative as {{ type_double() }})
            / nullif(complaints_resolved, 0) as alternative_close_share
    from daily
)

select * from final
