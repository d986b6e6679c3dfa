{{
    config(
        materialized='incremental',
        incremental_strategy='replace_keys',
        unique_key=['source_channel', 'source_record_id'],
        on_schema_change='fail',
        full_refresh=var('marts_full_rebuild', false) or none,
    )
}}

-- Every source record that can identify a person, with its customer: the identity stage's answer for the
-- record's identity record (int_contact_record_members), so a marketing event, store transaction, web
-- order or survey response links to its customer exactly as the identity record it belongs to.
--
-- Incremental: a daily build replaces the rows of the source records of int_source_records_changed (a
-- record that is no member any more comes as its key alone, which replace_keys deletes).

with

changed_records as (select * from {{ ref('int_source_records_changed') }}),

members as (
    {{ recomputed_rows(ref('int_contact_record_members'), 'changed_records', ['source_channel', 'source_record_id']) }}
),

customer_source_xref as (select * from {{ source('identity', 'customer_source_xref') }}),

record_customers as (
    select
        members.source_channel,
        members.source_record_id,
        members.identity_record_id,
        customer_source_xref.customer_id,
        customer_source_xref.match_rule,
        customer_source_xref.match_score
    from members
    inner join customer_source_xref
        on members.source_channel = customer_source_xref.source_channel
        and members.identity_record_id = customer_source_xref.source_record_id
),

final as (
    {%- if is_incremental() %}
    -- every recomputed source record with its customer, or alone when it has none any more
    {{ replace_keys_batch(
        'changed_records', 'record_customers',
        on=[('source_channel', 'source_channel'), ('source_record_id', 'source_record_id')],
        columns=['identity_record_id', 'customer_id', 'match_rule', 'match_score'],
    ) }}
    {%- else %}
    select * from record_customers
    {%- endif %}
)

select * from final
