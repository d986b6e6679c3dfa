-- Restricted: raw personal data of the golden record. Grant this schema to the few roles that need it;
-- everything BI-facing (marts) carries masked or hashed values only.

with

golden_records as (select * from {{ ref('int_customers_golden_record') }}),

final as (
    select
        customer_id,
        {{ pseudonymize('customer_id') }} as customer_key,
        account_id,
        loyalty_id,
        first_name,
        last_name,
        full_name,
        email,
        email_normalized,
        phone,
        phone_e164,
        birth_date,
        street,
        postal_code,
        city,
        country_code
    from golden_records
)

select * from final
