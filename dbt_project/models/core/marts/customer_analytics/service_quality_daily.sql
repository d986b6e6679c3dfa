-- Service quality per day a ticket was opened, contact channel and category, over the tickets' latest
-- versions (fct_support_tickets). Rates are over the day's tickets that are resolved by the as-of date, so a
-- day's figures settle as its tickets close; alternative_close_share is over its resolved complaints.

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
        sum(case when is_resolved and is_sla_met then 1 else 0 end) as resolved_within_sla,
        sum(case when is_resolved and is_complaint then 1 else 0 end) as complaints_resolved,
        sum(
            case when is_resolved and is_complaint and is_closed_with_alternative then 1 else 0 end
        ) as complaints_closed_with_alternative,
        {{ percentile('case when is_resolved then hours_to_resolve end', 0.5) }} as hours_to_resolve_p50,
        {{ percentile('case when is_resolved then hours_to_resolve end', 0.9) }} as hours_to_resolve_p90
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
        cast(first_contact_resolutions as double precision) / nullif(tickets_resolved, 0) as fcr_rate,
        cast(resolved_within_sla as double precision) / nullif(tickets_resolved, 0) as sla_adherence_rate,
        -- rounded to 0.001 hours (under 4 seconds): the engines' interpolation differs in the last bits
        cast(round(cast(hours_to_resolve_p50 as numeric), 3) as double precision) as hours_to_resolve_p50,
        cast(round(cast(hours_to_resolve_p90 as numeric), 3) as double precision) as hours_to_resolve_p90,
        cast(complaints_closed_with_alternative as double precision)
            / nullif(complaints_resolved, 0) as alternative_close_share
    from daily
)

select * from final
