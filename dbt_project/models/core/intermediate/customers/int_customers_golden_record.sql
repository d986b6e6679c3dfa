{{
    config(
        materialized='incremental',
        incremental_strategy='replace_keys',
        unique_key='customer_id',
        on_schema_change='fail',
        full_refresh=var('marts_full_rebuild', false) or none,
    )
}}

-- The golden record of each resolved customer, PII unmasked: marts.dim_customers masks it for BI and
-- restricted.dim_customer_pii exposes it to the few who may see it. Survivorship: see the survivor macro.
--
-- Incremental: a daily build recomputes the customers with an input row added or removed since the previous
-- build (int_golden_record_inputs_changed), from all their records, and replaces their rows; a customer with
-- no record left comes as its key alone, which the replace_keys strategy deletes. Every other customer's
-- inputs are what they were, so their rows stand. The pipeline rebuilds it in full when the models change
-- (customer360.incremental).

with

contact_records as (select * from {{ ref('int_contact_records_unioned') }}),

crm_contacts as (select * from {{ ref('int_crm_contacts_latest') }}),

changed_inputs as (select * from {{ ref('int_golden_record_inputs_changed') }}),

recomputed_customers as (
    select distinct customer_id
    from changed_inputs
),

customer_source_xref as (
    {{ recomputed_rows(source('identity', 'customer_source_xref'), 'recomputed_customers', ['customer_id']) }}
),

contact_points as (select * from {{ source('identity', 'contact_points') }}),

customer_records as (
    select
        customer_source_xref.customer_id,
        contact_records.source_channel,
        contact_records.source_record_id,
        contact_records.observed_at,
        contact_records.source_records,
        {{ source_priority('contact_records.source_channel') }} as source_priority,
        contact_records.account_id,
        contact_records.loyalty_id,
        case when coalesce(contact_points.email_is_valid, true) then contact_records.email end as email,
        case when contact_points.email_is_valid then contact_points.email_normalized end as email_normalized,
        case when contact_points.phone_is_valid then contact_records.phone end as phone,
        case when contact_points.phone_is_valid then contact_points.phone_e164 end as phone_e164,
        contact_records.first_name,
        contact_records.last_name,
        contact_records.full_name,
        contact_points.name_script,
        contact_records.birth_date,
        contact_records.street,
        contact_records.postal_code,
        contact_records.city,
        contact_records.country_code,
        {% set identity_attributes = ['account_id', 'loyalty_id', 'email', 'phone', 'full_name', 'birth_date',
                                      'street', 'postal_code', 'city', 'country_code'] -%}
        {%- for attribute in identity_attributes %}
        case when contact_records.{{ attribute }} is null then 0 else 1 end
            {{- ' +' if not loop.last else ' as completeness' }}
        {%- endfor %}
    from contact_records
    inner join customer_source_xref
        on contact_records.source_channel = customer_source_xref.source_channel
        and contact_records.source_record_id = customer_source_xref.source_record_id
    left join contact_points
        on contact_records.source_channel = contact_points.source_channel
        and contact_records.source_record_id = contact_points.source_record_id
),

survivors as (
    {%- set address = 'coalesce(street, postal_code, city)' %}
    {{ survivors_per_customer('customer_records', [
        ['account_id', none],
        ['loyalty_id', none],
        ['email', none],
        ['email_normalized', 'email'],
        ['phone_e164', none],
        ['phone', 'phone_e164'],
        ['first_name', 'full_name'],
        ['last_name', 'full_name'],
        ['full_name', none],
        ['name_script', 'full_name'],
        ['birth_date', none],
        ['street', address],
        ['postal_code', address],
        ['city', address],
        ['country_code', none],
    ]) }}
),

customer_activity as (
    select
        customer_id,
        min(observed_at) as first_seen_at,
        max(observed_at) as last_seen_at,
        cast(sum(source_records) as {{ dbt.type_bigint() }}) as source_record_count
    from customer_records
    group by customer_id
),

customer_channels as (
    select distinct
        customer_id,
        source_channel
    from customer_records
),

channels_present as (
    select
        customer_id,
        {{ dbt.listagg('source_channel', "','", 'order by source_channel') }} as channels_present
    from customer_channels
    group by customer_id
),

crm_versions as (
    select
        customer_source_xref.customer_id,
        crm_contacts.updated_at,
        crm_contacts.contact_id,
        crm_contacts.email_opt_in,
        crm_contacts.sms_opt_in,
        crm_contacts.preferred_language,
        crm_contacts.is_deleted,
        row_number() over (
            partition by customer_source_xref.customer_id
            order by crm_contacts.updated_at desc, crm_contacts.contact_id
        ) as recency_rank,
        min(case when crm_contacts.is_deleted then 1 else 0 end) over (
            partition by customer_source_xref.customer_id
        ) as all_contacts_deleted,
        count(*) over (partition by customer_source_xref.customer_id) as crm_contact_count,
        min(crm_contacts.created_at) over (partition by customer_source_xref.customer_id) as crm_created_at
    from crm_contacts
    inner join customer_source_xref
        on customer_source_xref.source_channel = 'crm'
        and crm_contacts.contact_id = customer_source_xref.source_record_id
),

crm_consent as (
    select
        customer_id,
        email_opt_in,
        sms_opt_in,
        preferred_language,
        all_contacts_deleted = 1 as is_deleted,
        crm_contact_count,
        crm_created_at,
        updated_at as consent_updated_at
    from crm_versions
    where recency_rank = 1
),

golden_records as (
    select
        survivors.customer_id,
        survivors.account_id,
        survivors.loyalty_id,
        survivors.email,
        survivors.email_normalized,
        survivors.phone,
        survivors.phone_e164,
        survivors.first_name,
        survivors.last_name,
        survivors.full_name,
        survivors.name_script,
        survivors.birth_date,
        survivors.street,
        survivors.postal_code,
        survivors.city,
        survivors.country_code,
        crm_consent.preferred_language,
        -- a CRM contact was there from its creation, before the version that is observed now
        case
            when crm_consent.crm_created_at < customer_activity.first_seen_at then crm_consent.crm_created_at
            else customer_activity.first_seen_at
        end as first_seen_at,
        customer_activity.last_seen_at,
        channels_present.channels_present,
        customer_activity.source_record_count,
        coalesce(crm_consent.crm_contact_count, 0) as crm_contact_count,
        coalesce(crm_consent.email_opt_in, false) as email_opt_in,
        coalesce(crm_consent.sms_opt_in, false) as sms_opt_in,
        crm_consent.consent_updated_at,
        coalesce(crm_consent.is_deleted, false) as is_deleted
    from survivors
    inner join customer_activity
        on survivors.customer_id = customer_activity.customer_id
    inner join channels_present
        on survivors.customer_id = channels_present.customer_id
    left join crm_consent
        on survivors.customer_id = crm_consent.customer_id
),

final as (
    {%- if is_incremental() %}
    -- every recomputed customer with its row, or alone when no record belongs to it any more
    {{ replace_keys_batch('recomputed_customers', 'golden_records', on=[('customer_id', 'customer_id')]) }}
    {%- else %}
    select * from golden_records
    {%- endif %}
)

select * from final
