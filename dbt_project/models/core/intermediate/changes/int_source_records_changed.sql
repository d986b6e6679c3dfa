{{
    config(
        full_refresh=var('marts_full_rebuild', false) or none,
    )
}}

-- The source records whose customer this core build recomputes (int_source_record_customers,
-- customer_source_xref, int_marketing_events_linked, fct_interactions). A source record's customer follows
-- its own staging rows, the as-of date and the identity stage's answer for its identity record. So the list
-- holds:
--
-- 1. the source records of every identity-input channel with a staging row that may have changed since the
--    previous core build, or dated into the days since its as-of date (identity_input_changed, with the core
--    layer's own window from the planner, as for int_orders_changed; when one staging build ran since, the
--    same list is its int_contact_records_changed);
-- 2. the members of the identity records whose customer or contact points the identity stage changed since
--    the previous core build started (identity.record_changes, from the planner's
--    `incremental_identity_since`; customer360.identity.changes).
--
-- A full build recomputes every record and lists nothing, as does the first build. Without the planner's
-- vars (a build by hand) every source record is listed: correct, not fast.

{%- set consumers = [
    'int_source_record_customers', 'customer_source_xref', 'int_marketing_events_linked', 'fct_interactions'
] %}
{%- set built = [] %}
{%- for consumer in consumers if execute and previous_build(consumer) is not none %}
    {%- do built.append(consumer) %}
{%- endfor %}
{#- a consumer missing while the others are built (dropped by hand): list every record, so that the built
    ones recompute everything while the missing one is built in full -#}
{%- set every_record = 0 < built | length < consumers | length %}
{%- set identity_since = run_context('incremental_identity_since') %}
{#- exactly one staging build since the previous core build: its listing of changed source records covers
    the same window as this build's (the day after the previous core build's date up to this one, and the
    files loaded since), so it is read instead of scanning the staging models again -#}
{%- set staging_builds = run_context('incremental_staging_builds') %}
{%- set one_staging_build = staging_builds is not none and staging_builds | int == 1 %}
{%- set channels = identity_input_sources() %}
{#- the dependencies, whichever branch renders below (a full build reads nothing) #}
{%- set read = ['int_contact_record_members', 'int_contact_records_changed'] %}
{%- for model in channels | map(attribute=1) | list + read %}
-- depends_on: {{ ref(model) }}
{%- endfor %}
-- depends_on: {{ source('identity', 'record_changes') }}

with

{% if should_full_refresh() or not built -%}
final as (
    -- a full build recomputes every record: nothing to list
    select
        cast(null as {{ dbt.type_string() }}) as source_channel,
        cast(null as {{ dbt.type_string() }}) as source_record_id
    where 1 = 0
)
{%- else -%}
members as (select * from {{ ref('int_contact_record_members') }}),

changed_source_records as (
    {%- if one_staging_build and not every_record %}
    select source_channel, source_record_id
    from {{ ref('int_contact_records_changed') }}
    {%- else %}
    {{ changed_staged_records(channels, every=every_record) }}
    {%- endif %}
),

changed_identity_records as (
    {%- if identity_since is none or every_record %}
    -- no record of what the identity stage changed: every identity record
    select distinct source_channel, identity_record_id
    from members
    {%- else %}
    select distinct source_channel, source_record_id as identity_record_id
    from {{ source('identity', 'record_changes') }}
    where source_record_id is not null
        and changed_at >= cast('{{ identity_since }}' as {{ dbt.type_timestamp() }})
    {%- endif %}
),

moved_source_records as (
    select members.source_channel, members.source_record_id
    from members
    inner join changed_identity_records
        on members.source_channel = changed_identity_records.source_channel
        and members.identity_record_id = changed_identity_records.identity_record_id
),

changed_records as (
    select source_channel, source_record_id from changed_source_records
    union
    select source_channel, source_record_id from moved_source_records
),

final as (
    select source_channel, source_record_id
    from changed_records
)
{%- endif %}

select * from final
