{{
    config(
        full_refresh=var('marts_full_rebuild', false) or none,
    )
}}

-- The golden record's input rows that changed since the previous build, so that int_customers_golden_record
-- recomputes only the customers they belong to. An input row is an identity record's row of
-- int_contact_records_unioned (a CRM contact has one per identifying version) with its customer
-- (identity.customer_source_xref), its contact points and, for a CRM contact, its latest version: everything
-- the golden record reads about the record. Its fingerprint covers every column of the three (so a column
-- added to them later is covered too). A row is `added` when it is not among the rows of the previous build
-- (int_golden_record_inputs, looked up by name: it is written after the golden record), `removed` when that
-- build had it and this one does not: a record that moved from one customer to another is removed from the
-- first and added to the second, so both are recomputed. A full build lists every row as added.

{%- set previous = previous_build('int_golden_record_inputs') %}
{%- set golden_record = previous_build('int_customers_golden_record') %}
{#- stop a build (not a compile or docs generate, which run nothing) that could not tell what changed -#}
{%- if execute and flags.WHICH in ('run', 'build') and previous is none and golden_record is not none
    and not should_full_refresh() %}
    {{ exceptions.raise_compiler_error(
        golden_record ~ " exists but int_golden_record_inputs does not, so what changed since it was built is "
        ~ "unknown: rebuild in full (CUSTOMER360_FULL_REFRESH=true, or --vars 'marts_full_rebuild: true')"
    ) }}
{%- endif %}
{%- set incremental = previous is not none and not should_full_refresh() %}
{#- Only the identity records that can have changed are compared when the planner says what changed since the
    previous build: identity's changes since it started, and exactly one staging build since (whose listing of
    changed source records, int_contact_records_changed, then covers every change of their rows). Otherwise
    (a build by hand, or several staging builds since) every record is compared. -#}
{%- set identity_since = run_context('incremental_identity_since') %}
{%- set staging_builds = run_context('incremental_staging_builds') %}
{%- set compare_candidates = incremental and identity_since is not none and staging_builds is not none
    and staging_builds | int <= 1 %}
-- depends_on: {{ ref('int_contact_records_changed') }}
-- depends_on: {{ ref('int_contact_record_members') }}
-- depends_on: {{ source('identity', 'record_changes') }}

{%- set fingerprinted = [] %}
{%- if execute %}
    {%- for alias, relation, keys in [
        ('contact_records', ref('int_contact_records_unioned'), ['source_channel', 'source_record_id']),
        ('contact_points', source('identity', 'contact_points'), ['source_channel', 'source_record_id']),
        ('crm_contacts', ref('int_crm_contacts_latest'), ['contact_id']),
    ] %}
        {%- for column in adapter.get_columns_in_relation(relation) if column.name | lower not in keys %}
            {%- do fingerprinted.append(alias ~ '.' ~ adapter.quote(column.name)) %}
        {%- endfor %}
    {%- endfor %}
{%- endif %}

with

{% if compare_candidates -%}
changed_source_records as (select * from {{ ref('int_contact_records_changed') }}),

members as (select * from {{ ref('int_contact_record_members') }}),

candidates as (
    -- the identity records the staging build recomputed in int_contact_records_unioned
    select source_channel, identity_record_id as source_record_id
    from ({{ recomputed_identity_records('changed_source_records', 'members') }}) as recomputed
    union
    -- the identity records whose customer or contact points the identity stage changed
    select source_channel, source_record_id
    from {{ source('identity', 'record_changes') }}
    where source_record_id is not null
        and changed_at >= cast('{{ identity_since }}' as {{ dbt.type_timestamp() }})
),

contact_records as (
    select contact_records.*
    from {{ ref('int_contact_records_unioned') }} as contact_records
    inner join candidates
        on contact_records.source_channel = candidates.source_channel
        and contact_records.source_record_id = candidates.source_record_id
),
{%- else -%}
contact_records as (select * from {{ ref('int_contact_records_unioned') }}),
{%- endif %}

customer_source_xref as (select * from {{ source('identity', 'customer_source_xref') }}),

contact_points as (select * from {{ source('identity', 'contact_points') }}),

crm_contacts as (select * from {{ ref('int_crm_contacts_latest') }}),

current_inputs as (
    select
        customer_source_xref.customer_id,
        contact_records.source_channel,
        contact_records.source_record_id,
        {{ row_fingerprint(fingerprinted or ["''"]) }} as input_fingerprint
    from contact_records
    inner join customer_source_xref
        on contact_records.source_channel = customer_source_xref.source_channel
        and contact_records.source_record_id = customer_source_xref.source_record_id
    left join contact_points
        on contact_records.source_channel = contact_points.source_channel
        and contact_records.source_record_id = contact_points.source_record_id
    left join crm_contacts
        on contact_records.source_channel = 'crm'
        and contact_records.source_record_id = crm_contacts.contact_id
),

{% if incremental -%}
previous_inputs as (
    select previous_inputs.*
    from {{ previous }} as previous_inputs
    {%- if compare_candidates %}
    inner join candidates
        on previous_inputs.source_channel = candidates.source_channel
        and previous_inputs.source_record_id = candidates.source_record_id
    {%- endif %}
),

changes as (
    select
        coalesce(current_inputs.customer_id, previous_inputs.customer_id) as customer_id,
        coalesce(current_inputs.source_channel, previous_inputs.source_channel) as source_channel,
        coalesce(current_inputs.source_record_id, previous_inputs.source_record_id) as source_record_id,
        coalesce(current_inputs.input_fingerprint, previous_inputs.input_fingerprint) as input_fingerprint,
        case when current_inputs.customer_id is null then 'removed' else 'added' end as change
    from current_inputs
    full outer join previous_inputs
        on current_inputs.source_channel = previous_inputs.source_channel
        and current_inputs.source_record_id = previous_inputs.source_record_id
        and current_inputs.customer_id = previous_inputs.customer_id
        and current_inputs.input_fingerprint = previous_inputs.input_fingerprint
    where current_inputs.customer_id is null or previous_inputs.customer_id is null
),
{%- else -%}
changes as (
    select *, 'added' as change
    from current_inputs
),
{%- endif %}

final as (
    select
        customer_id,
        source_channel,
        source_record_id,
        input_fingerprint,
        change
    from changes
)

select * from final
