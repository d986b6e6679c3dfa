{{
    config(
        materialized='incremental',
        incremental_strategy='replace_keys',
        unique_key=['source_channel', 'source_record_id'],
        on_schema_change='fail',
    )
}}

-- The identity stage's input: one row per identity record (version). CRM contacts and tickets are one
-- identity record per source record, and every CRM version that changed an identifying field is a row of its
-- own (versions that changed other fields only add nothing and are counted in the row they repeat). In the
-- channels of collapsed_identity_channels() the source records with the same identifying fields are one
-- identity record (a contact signature, see macros/identity_records.sql), observed when last seen.
-- `source_records` counts the source record versions behind each row.
--
-- Incremental (macros/identity_input_changes.sql): a daily build recomputes the identity records that a
-- source record of int_contact_records_changed belongs to now or belonged to after the previous build, from
-- all their source records, and replaces their rows; one that no source record belongs to any more comes as
-- its key alone, which the replace_keys strategy deletes.

with

contact_records as (select * from {{ ref('int_contact_records') }}),

-- the same table again, narrow: read once more by key, it is not materialized whole as a CTE read twice
contact_record_identities as (
    select source_channel, source_record_id, identity_record_id
    from {{ ref('int_contact_records') }}
),

changed_records as (select * from {{ ref('int_contact_records_changed') }}),

{% if is_incremental() -%}
recomputed_identity_records as (
    {{ recomputed_identity_records('changed_records', 'contact_record_identities') }}
),

{% endif -%}
recomputed_contact_records as (
    select contact_records.*
    from contact_records
    {%- if is_incremental() %}
    inner join recomputed_identity_records
        on contact_records.source_channel = recomputed_identity_records.source_channel
        and contact_records.identity_record_id = recomputed_identity_records.identity_record_id
    {%- endif %}
),

record_versions as (
    select
        source_channel,
        identity_record_id as source_record_id,
        max(observed_at) as observed_at,
        {% for field in identity_fields() -%}
        {{ field }},
        {% endfor -%}
        count(*) as source_records
    from recomputed_contact_records
    where source_channel not in ('{{ collapsed_identity_channels() | join("', '") }}')
    group by source_channel, identity_record_id, {{ identity_fields() | join(', ') }}
),

signatures as (
    -- every row of one signature has the same identifying fields, so min() just picks the value
    select
        source_channel,
        identity_record_id as source_record_id,
        max(observed_at) as observed_at,
        {% for field in identity_fields() -%}
        min({{ field }}) as {{ field }},
        {% endfor -%}
        count(*) as source_records
    from recomputed_contact_records
    where source_channel in ('{{ collapsed_identity_channels() | join("', '") }}')
    group by source_channel, identity_record_id
),

identity_records as (
    select * from record_versions
    union all
    select * from signatures
),

final as (
    {%- if is_incremental() %}
    -- every recomputed identity record with its rows, or alone when no source record belongs to it any more
    {{ replace_keys_batch(
        'recomputed_identity_records', 'identity_records',
        on=[('source_channel', 'source_channel'), ('identity_record_id', 'source_record_id')],
        columns=['observed_at'] + identity_fields() + ['source_records'],
    ) }}
    {%- else %}
    select * from identity_records
    {%- endif %}
)

select * from final
