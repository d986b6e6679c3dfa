with

golden_records as (select * from {{ ref('int_customers_golden_record') }}),

final as (
    select
        customer_id,
        {{ pseudonymize('customer_id') }} as customer_key,
        {{ mask_email('email') }} as email_masked,
        {{ mask_phone('phone_e164') }} as phone_masked,
        email is not null as has_email,
        phone_e164 is not null as has_phone,
        name_script,
        cast({{ dbt.date_trunc('year', 'birth_date') }} as date) as birth_year_date,
        city,
        country_code,
        preferred_language,
        first_seen_at,
        last_seen_at,
        channels_present,
        source_record_count,
        crm_contact_count,
        email_opt_in,
        sms_opt_in,
        is_deleted
    from golden_records
)

select * from final
