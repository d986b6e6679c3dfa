{{
    config(
        materialized='incremental',
        incremental_strategy='replace_keys',
        unique_key='event_id',
        on_schema_change='fail',
        full_refresh=var('marts_full_rebuild', false) or none,
    )
}}

-- Marketing and social events that happened on or before the as-of date, with the resolved customer
-- (xref on marketing/event_id; null when the event carried no account id or email, e.g. an anonymous visit).
--
-- Incremental: a daily build replaces the events of int_source_records_changed (every marketing event with a
-- staging row delivered since the previous build or dated into its window, and those whose customer moved);
-- an event that is gone, or not yet on the as-of date, comes as its key alone, which replace_keys deletes.

with

changed_records as (select * from {{ ref('int_source_records_changed') }}),

changed_events as (
    select source_record_id as event_id
    from changed_records
    where source_channel = 'marketing'
),

events as (
    {{ recomputed_rows(ref('stg_marketing_events__events'), 'changed_events', ['event_id']) }}
),

customer_source_xref as (select * from {{ ref('int_source_record_customers') }}),

linked_events as (
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
),

final as (
    {%- if is_incremental() %}
    -- every recomputed event, or its key alone when it is gone or not yet on the as-of date
    {{ replace_keys_batch('changed_events', 'linked_events', on=[('event_id', 'event_id')]) }}
    {%- else %}
    select * from linked_events
    {%- endif %}
)

select * from final
