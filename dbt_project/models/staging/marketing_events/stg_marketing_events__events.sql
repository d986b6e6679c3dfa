{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='event_id',
        on_schema_change='fail',
    )
}}

{%- set channel_timezone = source_timezone('marketing_events') -%}

with

delivered as (
    {{ delivered_records(source('marketing_events', 'marketing_events'), ['event_id']) }}
),

renamed as (
    select
        {{ clean_text('event_id') }} as event_id,
        {{ to_utc_timestamp('event_at', channel_timezone) }} as event_at,
        '{{ channel_timezone }}' as source_timezone,
        lower({{ clean_text('event_type') }}) as event_type,
        lower({{ clean_text('channel') }}) as marketing_channel,
        {{ clean_text('campaign_id') }} as campaign_id,
        {{ clean_text('account_id') }} as account_id,
        {{ clean_email('email') }} as email,
        {{ clean_text('social_handle') }} as social_handle,
        {{ parse_integer('followers') }} as followers,
        {{ parse_integer('rating') }} as rating,
        {{ clean_email('referred_email') }} as referred_email,
        {{ clean_text('url') }} as url,
        {{ lineage_columns() }}
    from delivered
),

final as (select * from renamed)

select * from final
