{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='response_id',
        on_schema_change='fail',
    )
}}

{%- set channel_timezone = source_timezone('surveys') -%}

with

delivered as (
    {{ delivered_records(source('surveys', 'surveys'), ['response_id']) }}
),

renamed as (
    select
        {{ clean_text('response_id') }} as response_id,
        {{ to_utc_timestamp('submitted_at', channel_timezone) }} as submitted_at,
        '{{ channel_timezone }}' as source_timezone,
        lower({{ clean_text('survey_type') }}) as survey_type,
        lower({{ clean_text('touchpoint') }}) as touchpoint,
        {{ clean_text('account_id') }} as account_id,
        {{ clean_email('email') }} as email,
        {{ clean_text('ticket_id') }} as ticket_id,
        {{ parse_integer('csat_score') }} as csat_score,
        {{ parse_integer('nps_score') }} as nps_score,
        {{ parse_integer('expectation_score') }} as expectation_score,
        {{ parse_integer('perceived_score') }} as perceived_score,
        {{ clean_text('comment') }} as comment,
        {{ lineage_columns() }}
    from delivered
),

final as (select * from renamed)

select * from final
