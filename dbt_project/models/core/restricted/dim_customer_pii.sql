{#- on_schema_change append_new_columns: the enforced contract already checks the columns on every build;
    'fail' would also compare the contract's declared types with the batch's (varchar and text on
    PostgreSQL) and stop. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_keys',
        unique_key='customer_id',
        on_schema_change='append_new_columns',
        full_refresh=var('marts_full_rebuild', false) or none,
    )
}}

-- Restricted: raw personal data of the golden record. Grant this schema to the few roles that need it;
-- everything BI-facing (marts) carries masked or hashed values only.
--
-- Incremental: a daily build replaces the rows of the customers whose golden record was recomputed
-- (int_golden_record_inputs_changed); a customer with no golden record any more comes as its key alone,
-- which replace_keys deletes.

with

changed_inputs as (select * from {{ ref('int_golden_record_inputs_changed') }}),

recomputed_customers as (
    select distinct customer_id
    from changed_inputs
),

golden_records as (
    {{ recomputed_rows(ref('int_customers_golden_record'), 'recomputed_customers', ['customer_id']) }}
),

customers as (
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
),

final as (
    {%- if is_incremental() %}
    -- every recomputed customer with its row, or alone when it has no golden record any more
    {{ replace_keys_batch('recomputed_customers', 'customers', on=[('customer_id', 'customer_id')]) }}
    {%- else %}
    select * from customers
    {%- endif %}
)

select * from final
