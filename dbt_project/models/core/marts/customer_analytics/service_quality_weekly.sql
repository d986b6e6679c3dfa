-- Service quality per week a ticket was opened (weeks start on Monday) and contact channel, plus one row
-- per week over all channels (channel 'all'), over the tickets' latest versions (fct_support_tickets).
-- The grain for resolve-time percentiles: a week of one channel holds enough tickets for a median and a
-- 90th percentile to mean something. Rates as in service_quality_daily.

with

tickets as (select * from {{ ref('fct_support_tickets') }}),

dated as (
    select
        cast({{ dbt.date_trunc('week', 'opened_at') }} as date) as week_start,
        channel,
        is_resolved,
        is_complaint,
        is_first_contact_resolution,
        is_sla_met,
        hours_to_resolve
    from tickets
),

weekly as (
    select
        week_start,
        coalesce(channel, 'all') as channel,
        count(*) as tickets_opened,
        sum(case when is_resolved then 1 else 0 end) as tickets_resolved,
        sum(case when is_complaint then 1 else 0 end) as complaints,
        sum(case when is_sla_met is not null then 1 else 0 end) as tickets_sla_judged,
        sum(case when not is_resolved and is_sla_met = false then 1 else 0 end) as tickets_open_past_due,
        sum(case when is_sla_met then 1 else 0 end) as tickets_within_sla,
        sum(case when is_resolved and is_first_contact_resolution then 1 else 0 end) as first_contact_resolutions,
        {{ percentile('case when is_resolved then hours_to_resolve end', 0.5) }} as hours_to_resolve_p50,
        {{ percentile('case when is_resolved then hours_to_resolve end', 0.9) }} as hours_to_resolve_p90
    from dated
    group by grouping sets ((week_start, channel), (week_start))
),

final as (
    select
        week_start,
        channel,
        cast(tickets_opened as integer) as tickets_opened,
        cast(tickets_resolved as integer) as tickets_resolved,
        cast(complaints as integer) as complaints,
        cast(tickets_sla_judged as integer) as tickets_sla_judged,
        cast(tickets_open_past_due as integer) as tickets_open_past_due,
        cast(first_contact_resolutions as double precision) / nullif(tickets_resolved, 0) as fcr_rate,
        cast(tickets_within_sla as double precision) / nullif(tickets_sla_judged, 0) as sla_adherence_rate,
        -- rounded to 0.001 hours (under 4 seconds): the engines' interpolation differs in the last bits
        cast(round(cast(hours_to_resolve_p50 as numeric), 3) as double precision) as hours_to_resolve_p50,
        cast(round(cast(hours_to_resolve_p90 as numeric), 3) as double precision) as hours_to_resolve_p90
    from weekly
)

select * from final
