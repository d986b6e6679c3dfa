-- The identity stage's input: one row per identity record (version). CRM contacts and tickets come as they
-- are (every CRM version); in the channels of collapsed_identity_channels() the source records with the
-- same identifying fields are one identity record (a contact signature, see macros/identity_records.sql),
-- observed when it was last seen. `source_records` counts the source records behind each row.

with

contact_records as (select * from {{ ref('int_contact_records') }}),

kept_as_they_are as (
    select
        source_channel,
        identity_record_id as source_record_id,
        observed_at,
        {% for field in identity_fields() -%}
        {{ field }},
        {% endfor -%}
        1 as source_records
    from contact_records
    where source_channel not in ('{{ collapsed_identity_channels() | join("', '") }}')
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
    select * from kept_as_they_are
    union all
    select * from signatures
)

select * from final
