{{
    config(
        materialized='incremental',
        incremental_strategy='replace_keys',
        unique_key=['source_channel', 'source_record_id'],
        on_schema_change='fail',
    )
}}

-- Every source record that can identify a person, in one layout, with the identity record it belongs to
-- (see macros/identity_records.sql). Records dated after the as-of date are left out, so a backfill
-- resolves the identities of its own day. A CRM contact comes with every version written up to the as-of
-- date: an old email or phone is still evidence that links the person's other records.
--
-- Incremental (macros/identity_input_changes.sql): a daily build recomputes the source records of
-- int_contact_records_changed from all their staging rows and replaces their rows; one that has no row any
-- more comes as its key alone, which the replace_keys strategy deletes.

with

changed_records as (select * from {{ ref('int_contact_records_changed') }}),

crm_contacts as (
    select *
    from {{ ref('stg_crm_contacts__contacts') }}
    where cast(updated_at as date) <= {{ as_of_date() }}
        and {{ changed_records_only('crm') }}
),

web_order_lines as (
    select *
    from {{ ref('stg_web_orders__order_lines') }}
    where {{ changed_records_only('web') }}
),

pos_transaction_lines as (
    select *
    from {{ ref('stg_pos_transactions__transaction_lines') }}
    where {{ changed_records_only('pos') }}
),

tickets as (
    select *
    from {{ ref('stg_support_tickets__tickets') }}
    where {{ changed_records_only('tickets') }}
),

marketing_events as (
    select *
    from {{ ref('stg_marketing_events__events') }}
    where {{ changed_records_only('marketing') }}
),

survey_responses as (
    select *
    from {{ ref('stg_surveys__responses') }}
    where {{ changed_records_only('surveys') }}
),

crm_records as (
    select
        'crm' as source_channel,
        contact_id as source_record_id,
        updated_at as observed_at,
        account_id,
        loyalty_id,
        email,
        phone,
        first_name,
        last_name,
        full_name,
        birth_date,
        street,
        postal_code,
        city,
        country_code
    from crm_contacts
),

web_orders as (
    -- order-level fields are repeated on every line: take the first line's
    select
        *,
        row_number() over (partition by order_id order by line_number, _load_date, _source_line) as line_rank
    from web_order_lines
),

web_records as (
    select
        'web' as source_channel,
        order_id as source_record_id,
        ordered_at as observed_at,
        account_id,
        cast(null as {{ dbt.type_string() }}) as loyalty_id,
        customer_email as email,
        customer_phone as phone,
        customer_first_name as first_name,
        customer_last_name as last_name,
        {{ clean_text(dbt.concat([
            "coalesce(customer_first_name, '')",
            "' '",
            "coalesce(customer_last_name, '')",
        ])) }} as full_name,
        cast(null as date) as birth_date,
        shipping_street as street,
        shipping_postal_code as postal_code,
        shipping_city as city,
        shipping_country_code as country_code
    from web_orders
    where line_rank = 1
),

pos_transactions as (
    -- the customer fields of a transaction: the first line that carries any
    select
        *,
        row_number() over (
            partition by transaction_id
            order by
                case when coalesce(loyalty_id, customer_email, customer_phone) is null then 1 else 0 end,
                line_number,
                _source_line
        ) as line_rank
    from pos_transaction_lines
),

pos_records as (
    select
        'pos' as source_channel,
        transaction_id as source_record_id,
        transacted_at as observed_at,
        cast(null as {{ dbt.type_string() }}) as account_id,
        loyalty_id,
        customer_email as email,
        customer_phone as phone,
        cast(null as {{ dbt.type_string() }}) as first_name,
        cast(null as {{ dbt.type_string() }}) as last_name,
        cast(null as {{ dbt.type_string() }}) as full_name,
        cast(null as date) as birth_date,
        cast(null as {{ dbt.type_string() }}) as street,
        cast(null as {{ dbt.type_string() }}) as postal_code,
        cast(null as {{ dbt.type_string() }}) as city,
        cast(null as {{ dbt.type_string() }}) as country_code
    from pos_transactions
    where line_rank = 1
        and coalesce(loyalty_id, customer_email, customer_phone) is not null
),

ticket_versions as (
    select
        *,
        row_number() over (
            partition by ticket_id
            order by updated_at desc, _load_date desc, _source_file desc, _source_line desc
        ) as version_rank
    from tickets
    where cast(updated_at as date) <= {{ as_of_date() }}
),

ticket_records as (
    select
        'tickets' as source_channel,
        ticket_id as source_record_id,
        updated_at as observed_at,
        account_id,
        cast(null as {{ dbt.type_string() }}) as loyalty_id,
        customer_email as email,
        customer_phone as phone,
        cast(null as {{ dbt.type_string() }}) as first_name,
        cast(null as {{ dbt.type_string() }}) as last_name,
        customer_name as full_name,
        cast(null as date) as birth_date,
        cast(null as {{ dbt.type_string() }}) as street,
        cast(null as {{ dbt.type_string() }}) as postal_code,
        cast(null as {{ dbt.type_string() }}) as city,
        cast(null as {{ dbt.type_string() }}) as country_code
    from ticket_versions
    where version_rank = 1
        and coalesce(account_id, customer_email, customer_phone) is not null
),

marketing_records as (
    select
        'marketing' as source_channel,
        event_id as source_record_id,
        event_at as observed_at,
        account_id,
        cast(null as {{ dbt.type_string() }}) as loyalty_id,
        email,
        cast(null as {{ dbt.type_string() }}) as phone,
        cast(null as {{ dbt.type_string() }}) as first_name,
        cast(null as {{ dbt.type_string() }}) as last_name,
        cast(null as {{ dbt.type_string() }}) as full_name,
        cast(null as date) as birth_date,
        cast(null as {{ dbt.type_string() }}) as street,
        cast(null as {{ dbt.type_string() }}) as postal_code,
        cast(null as {{ dbt.type_string() }}) as city,
        cast(null as {{ dbt.type_string() }}) as country_code
    from marketing_events
    where coalesce(account_id, email) is not null
),

survey_records as (
    select
        'surveys' as source_channel,
        response_id as source_record_id,
        submitted_at as observed_at,
        account_id,
        cast(null as {{ dbt.type_string() }}) as loyalty_id,
        email,
        cast(null as {{ dbt.type_string() }}) as phone,
        cast(null as {{ dbt.type_string() }}) as first_name,
        cast(null as {{ dbt.type_string() }}) as last_name,
        cast(null as {{ dbt.type_string() }}) as full_name,
        cast(null as date) as birth_date,
        cast(null as {{ dbt.type_string() }}) as street,
        cast(null as {{ dbt.type_string() }}) as postal_code,
        cast(null as {{ dbt.type_string() }}) as city,
        cast(null as {{ dbt.type_string() }}) as country_code
    from survey_responses
    where coalesce(account_id, email) is not null
),

unioned as (
    select * from crm_records
    union all
    select * from web_records
    union all
    select * from pos_records
    union all
    select * from ticket_records
    union all
    select * from marketing_records
    union all
    select * from survey_records
),

dated as (
    select *
    from unioned
    where cast(observed_at as date) <= {{ as_of_date() }}
),

identified as (
    select
        *,
        case
            when source_channel in ('{{ collapsed_identity_channels() | join("', '") }}')
                and {{ identity_record_is_collapsible() }}
                then {{ contact_signature_id() }}
            else source_record_id
        end as identity_record_id
    from dated
),

final as (
    {%- if is_incremental() %}
    -- every recomputed source record with its rows, or alone when it has none any more
    {{ replace_keys_batch(
        'changed_records', 'identified',
        on=[('source_channel', 'source_channel'), ('source_record_id', 'source_record_id')],
        columns=['observed_at'] + identity_fields() + ['identity_record_id'],
    ) }}
    {%- else %}
    select * from identified
    {%- endif %}
)

select * from final
