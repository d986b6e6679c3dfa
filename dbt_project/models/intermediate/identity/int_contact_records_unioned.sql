-- The identity stage's input: one row per identity record (version). CRM contacts and tickets are one
-- identity record per source record, and every CRM version that changed an identifying field is a row of its
-- own (versions that changed other fields only add nothing and are counted in the row they repeat). In the
-- channels of collapsed_identity_channels() the source records with the same identifying fields are one
-- identity record (a contact signature, see macros/identity_records.sql), observed when last seen.
-- `source_records` counts the source record versions behind each row.

with

contact_records as (select * from {{ ref('int_contact_records') }}),

record_versions as (
    select
        source_channel,
        identity_record_id as source_record_id,
        max(observed_at) as observed_at,
        {% for field in identity_fields() -%}
        {{ field }},
        {% endfor -%}
        count(*) as source_records
    from contact_records
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
    from contact_records
    where source_channel in ('{{ collapsed_identity_channels() | join("', '") }}')
    group by source_channel, identity_record_id
),

final as (
    select * from record_versions
    union all
    select * from signatures
)

select * from final
