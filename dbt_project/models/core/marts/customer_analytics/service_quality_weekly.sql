-- Service quality per week a ticket was opened (weeks start on Monday) and contact channel, plus one row
-- per week over all channels (channel 'all'), over the tickets' latest versions (fct_support_tickets).
-- The grain for resolve-time percentiles: a week of one channel holds enough tickets for a median and a
-- 90th percentile to mean something. Rates as in service_quality_daily; the _4w rates pool each week with
-- the var service_rate_weeks - 1 weeks before it (same channel), so that a rate rests on more tickets than
-- one small week holds (the run report draws these).

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

pooled as (
    select
        weekly.*,
        sum(tickets_resolved) over recent as fcr_tickets_4w,
        sum(first_contact_resolutions) over recent as first_contact_resolutions_4w,
        sum(tickets_sla_judged) over recent as sla_tickets_4w,
        sum(tickets_within_sla) over recent as tickets_within_sla_4w
    from weekly
    window recent as (
        partition by channel
        order by week_start
        range between interval '{{ (var('service_rate_weeks') | int - 1) * 7 }} days' preceding and current row
    )
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
        cast(first_contact_resolutions as {{ type_double() }}) / nullif(tickets_resolved, 0) as fcr_rate,
        cast(tickets_within_sla as {{ type_double() }}) / nullif(tickets_sla_judged, 0) as sla_adherence_rate,
        -- rounded to 0.001 hours (under 4 seconds): the engines' interpolation differs in the last bits
        cast(round(cast(hours_to_resolve_p50 as {{ type_numeric() }}), 3) as {{ type_double() }}) as hours_to_resolve_p50,
        cast(round(cast(hours_to_resolve_p90 as {{ type_numeric() }}), 3) as {{ type_double() }}) as hours_to_resolve_p90,
        cast(fcr_tickets_4w as integer) as fcr_tickets_4w,
        cast(first_contact_resolutions_4w as {{ type_double() }}) / nullif(fcr_tickets_4w, 0) as fcr_rate_4w,
        cast(sla_tickets_4w as integer) as sla_tickets_4w,
        cast(tickets_within_sla_4w as {{ type_double() }}) / nullif(sla_tickets_4w, 0) as sla_rate_4w
    from pooled
)

select * from final
