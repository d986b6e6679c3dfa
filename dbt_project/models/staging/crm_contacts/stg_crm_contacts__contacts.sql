{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['contact_id', 'updated_at'],
        on_schema_change='fail',
    )
}}

{%- set channel_timezone = source_timezone('crm_contacts') -%}

with

country_codes as (select * from {{ ref('country_codes') }}),

delivered as (
    {{ delivered_records(source('crm_contacts', 'crm_contacts'), ['contact_id', 'updated_at']) }}
),

renamed as (
    select
        {{ clean_text('delivered.contact_id') }} as contact_id,
        {{ to_utc_timestamp('delivered.updated_at', channel_timezone) }} as updated_at,
        {{ to_utc_timestamp('delivered.created_at', channel_timezone) }} as created_at,
        '{{ channel_timezone }}' as source_timezone,
        {{ clean_text('delivered.account_id') }} as account_id,
        {{ clean_text('delivered.loyalty_id') }} as loyalty_id,
        {{ clean_text('delivered.first_name') }} as first_name,
        {{ clean_text('delivered.last_name') }} as last_name,
        coalesce(
            {{ clean_text('delivered.full_name') }},
            {{ clean_text(dbt.concat([
                "coalesce(trim(delivered.first_name), '')",
                "' '",
                "coalesce(trim(delivered.last_name), '')",
            ])) }}
        ) as full_name,
        {{ clean_email('delivered.email') }} as email,
        {{ clean_text('delivered.phone') }} as phone,
        {{ parse_date('delivered.birth_date') }} as birth_date,
        lower({{ clean_text('delivered.gender') }}) as gender,
        {{ clean_text('delivered.street') }} as street,
        {{ clean_text('delivered.postal_code') }} as postal_code,
        {{ clean_text('delivered.city') }} as city,
        {{ clean_text('delivered.country') }} as country,
        {{ country_code('delivered.country', 'country_codes') }} as country_code,
        lower({{ clean_text('delivered.preferred_language') }}) as preferred_language,
        {{ parse_bool('delivered.email_opt_in') }} as email_opt_in,
        {{ parse_bool('delivered.sms_opt_in') }} as sms_opt_in,
        coalesce({{ parse_bool('delivered.is_deleted') }}, false) as is_deleted,
        {{ lineage_columns('delivered') }}
    from delivered
    left join country_codes
        on lower(trim(delivered.country)) = country_codes.country_name
),

final as (select * from renamed)

select * from final
