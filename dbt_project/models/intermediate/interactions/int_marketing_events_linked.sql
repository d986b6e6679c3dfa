-- Marketing and social events that happened on or before the as-of date, with the resolved customer
-- (xref on marketing/event_id; null when the event carried no account id or email, e.g. an anonymous visit).

with

events as (select * from {{ ref('stg_marketing__events') }}),

customer_source_xref as (select * from {{ ref('int_source_record_customers') }}),

final as (
    select
        events.event_id,
        events.event_at,
        cast(events.event_at as date) as event_date,
        customer_source_xref.customer_id,
        events.event_type,
        events.marketing_channel,
        events.campaign_id,
        events.followers,
        events.rating
    from events
    left join customer_source_xref
        on customer_source_xref.source_channel = 'marketing'
        and events.event_id = customer_source_xref.source_record_id
    where cast(events.event_at as date) <= {{ as_of_date() }}
)

select * from final
