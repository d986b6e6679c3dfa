-- The source records whose identity input this build recomputes (macros/identity_input_changes.sql): those
-- with a staging row delivered since the previous build, or dated into the window it opens. With each, the
-- identity record it belonged to after the previous build, so int_contact_records_unioned also recomputes
-- the one a record has left. A full build recomputes everything and lists nothing.

{#- per channel: the staging model, its record key and the date the record was written -#}
{%- set channels = identity_input_sources() %}
{#- the dependencies, whichever branch renders below (a full build reads no staging model) #}
{%- for _, model, _, _ in channels %}
-- depends_on: {{ ref(model) }}
{%- endfor %}

with

previous_members as (select * from {{ previous_contact_record_members() }} as members),

changed_records as (
    {%- if should_full_refresh() %}
    -- a full build recomputes every record: nothing to list
    select source_channel, source_record_id
    from previous_members
    where 1 = 0
    {%- else %}
    {{ changed_staged_records(channels) }}
    {%- endif %}
),

final as (
    select
        changed_records.source_channel,
        changed_records.source_record_id,
        previous_members.identity_record_id as previous_identity_record_id
    from changed_records
    left join previous_members
        on changed_records.source_channel = previous_members.source_channel
        and changed_records.source_record_id = previous_members.source_record_id
)

select * from final
