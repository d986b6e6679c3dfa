{{
    config(
        materialized='incremental',
        incremental_strategy='replace_keys',
        unique_key=['source_channel', 'source_record_id'],
        on_schema_change='fail',
    )
}}

-- Which identity record each source record belongs to (one row per source record; a CRM contact's versions
-- are one record). Identity resolves identity records; int_source_record_customers carries its answer back
-- to every source record through this map.
--
-- Incremental (macros/identity_input_changes.sql): a daily build replaces the rows of the source records of
-- int_contact_records_changed (a record with no contact record any more comes as its key alone, which the
-- replace_keys strategy deletes). int_contact_records_changed reads this table as the previous build left
-- it, so it is rebuilt after int_contact_records_unioned, which needs what it read:
-- depends_on: {{ ref('int_contact_records_unioned') }}

with

contact_records as (select * from {{ ref('int_contact_records') }}),

changed_records as (select * from {{ ref('int_contact_records_changed') }}),

recomputed_contact_records as (
    select contact_records.*
    from contact_records
    {%- if is_incremental() %}
    inner join changed_records
        on contact_records.source_channel = changed_records.source_channel
        and contact_records.source_record_id = changed_records.source_record_id
    {%- endif %}
),

members as (
    -- one row per source record already, except CRM contacts (a row per version)
    select source_channel, source_record_id, identity_record_id
    from recomputed_contact_records
    where source_channel <> 'crm'
    union all
    select distinct source_channel, source_record_id, identity_record_id
    from recomputed_contact_records
    where source_channel = 'crm'
),

final as (
    {%- if is_incremental() %}
    -- every recomputed source record with its identity record, or alone when it has none any more
    {{ replace_keys_batch(
        'changed_records', 'members',
        on=[('source_channel', 'source_channel'), ('source_record_id', 'source_record_id')],
        columns=['identity_record_id'],
    ) }}
    {%- else %}
    select * from members
    {%- endif %}
)

select * from final
