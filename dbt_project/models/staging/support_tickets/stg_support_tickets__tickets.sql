{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['ticket_id', 'updated_at'],
        on_schema_change='fail',
    )
}}

{%- set channel_timezone = source_timezone('support_tickets') -%}

with

delivered as (
    {{ delivered_records(source('support_tickets', 'support_tickets'), ['ticket_id', 'updated_at']) }}
),

renamed as (
    select
        {{ clean_text('ticket_id') }} as ticket_id,
        {{ to_utc_timestamp('updated_at', channel_timezone) }} as updated_at,
        {{ to_utc_timestamp('opened_at', channel_timezone) }} as opened_at,
        {{ to_utc_timestamp('first_response_at', channel_timezone) }} as first_response_at,
        {{ to_utc_timestamp('resolved_at', channel_timezone) }} as resolved_at,
        '{{ channel_timezone }}' as source_timezone,
        lower({{ clean_text('channel') }}) as contact_channel,
        lower({{ clean_text('category') }}) as category,
        {{ parse_bool('is_complaint') }} as is_complaint,
        lower({{ clean_text('status') }}) as ticket_status,
        lower({{ clean_text('priority') }}) as priority,
        {{ clean_text('account_id') }} as account_id,
        {{ clean_email('customer_email') }} as customer_email,
        {{ clean_text('customer_phone') }} as customer_phone,
        {{ clean_text('customer_name') }} as customer_name,
        {{ clean_text('claim') }} as claim,
        {{ clean_text('standard_applied') }} as standard_applied,
        {{ parse_integer('sla_hours') }} as sla_hours,
        {{ clean_text('options_offered') }} as options_offered,
        {{ clean_text('alternative_accepted') }} as alternative_accepted,
        {{ parse_integer('contact_count') }} as contact_count,
        coalesce({{ parse_bool('reopened') }}, false) as is_reopened,
        {{ parse_integer('satisfaction_score') }} as satisfaction_score,
        {{ lineage_columns() }}
    from delivered
),

final as (select * from renamed)

select * from final
