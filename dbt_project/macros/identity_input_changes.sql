{#-
    How a daily build of the identity-input models (models/staging/identity_input) follows the new data.

    Each of those models says something about one source record (a CRM contact, a web order, a ticket, ...)
    that depends only on the source record's own staging rows and on the as-of date. A daily build
    recomputes the source records listed by int_contact_records_changed, those with a staging row for which
    `identity_input_changed` holds, and leaves every other record's rows as the previous build wrote them;
    the result equals a full build (tests: the `incremental_path` unit tests, tests/reliability).
-#}

{#-
    identity_input_sources(): per channel of the identity input, (channel, staging model, record key, the
    date the record was written). int_contact_records_changed lists the changed records from these models;
    int_contact_records reads only those records of each model (changed_records_only).
-#}
{% macro identity_input_sources() -%}
    {{ return([
        ('crm', 'stg_crm_contacts__contacts', 'contact_id', 'updated_at'),
        ('web', 'stg_web_orders__order_lines', 'order_id', 'ordered_at'),
        ('pos', 'stg_pos_transactions__transaction_lines', 'transaction_id', 'transacted_at'),
        ('tickets', 'stg_support_tickets__tickets', 'ticket_id', 'updated_at'),
        ('marketing', 'stg_marketing_events__events', 'event_id', 'event_at'),
        ('surveys', 'stg_surveys__responses', 'response_id', 'submitted_at'),
    ]) }}
{%- endmacro %}

{#-
    changed_records_only(channel): in an incremental build, a condition keeping the staging rows of
    `channel`'s records listed by int_contact_records_changed (the model's `changed_records` CTE); in a full
    build, true.
-#}
{% macro changed_records_only(channel) -%}
    {%- if is_incremental() -%}
        {%- set key = (identity_input_sources() | selectattr(0, 'equalto', channel) | first)[2] -%}
        {{ key }} in (select source_record_id from changed_records where source_channel = '{{ channel }}')
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#-
    identity_input_changed(alias, dated_column): true for a staging row (of `alias`) that can make its
    source record's identity input differ from what the previous staging build made of it:

    1. The row may be new since that build: its `_load_date` is on or after the earliest `_load_date` of a
       raw row delivered since (the day after the previous build's as-of date, or the date of the earliest
       late file). A staging key changes only when it gets a new raw row, and its winning row (the latest
       delivery among the first copies of its distinct records, macros/deduplication.sql) then becomes
       either a new raw row, or an earlier-delivered one that won because the previous winner's first copy
       moved back to a late file's row; either way it was delivered no earlier than that new raw row. Only
       the counts change otherwise, and the identity-input models do not read them. Keys that stay are not
       recomputed by staging either (delivered_since).
    2. The row's date (`dated_column`: when the record was written) falls after the previous build's as-of
       date and on or before this one's: the identity-input models leave out records dated after the as-of
       date, so such a record enters today although its rows did not change.

    The planner (customer360.incremental) passes the previous as-of date, the late files and their earliest
    date as vars. Without them every row counts, so an incremental build by hand recomputes every record
    (correct, not fast); the same when late files come without their date. The core layer's build gets the
    same vars for its own previous build, and int_orders_changed finds the orders to recompute with this
    macro (an order's lines, like an identity input, follow its staging rows and the as-of date; orders
    whose customer moved are listed apart).
-#}
{% macro identity_input_changed(alias, dated_column) -%}
    {%- set since = run_context('incremental_since_as_of') -%}
    {%- set late_files = run_context('incremental_files', []) or [] -%}
    {%- set late_from = run_context('incremental_files_from') -%}
    {%- if since is none or (late_files and late_from is none) -%}
        {{ alias }}._load_date <= {{ as_of_date() }}
    {%- else -%}
        (
            {%- if late_files %}
            {{ alias }}._load_date >= cast('{{ late_from }}' as date)
            {%- else %}
            {{ alias }}._load_date > cast('{{ since }}' as date)
            {%- endif %}
            or (
                cast({{ alias }}.{{ dated_column }} as date) > cast('{{ since }}' as date)
                and cast({{ alias }}.{{ dated_column }} as date) <= {{ as_of_date() }}
            )
        )
    {%- endif -%}
{%- endmacro %}

{#-
    previous_contact_record_members(): int_contact_record_members as the previous build left it: which
    identity record every source record belonged to. int_contact_records_changed reads it for the source
    records it lists, so that int_contact_records_unioned recomputes the identity record a changed source
    record has left (a web order whose email changed leaves one contact signature for another).

    A model cannot ref a model that depends on it, so the table is looked up by name; it is still the one
    the previous build wrote, because int_contact_record_members depends on int_contact_records_changed and
    is rebuilt after it (and after int_contact_records_unioned, so it never runs ahead of it after a failed
    build). Without the table, the map is empty: a first build recomputes everything anyway; an incremental
    build that finds int_contact_records but no members map stops and asks for a full refresh.
-#}
{% macro previous_contact_record_members() -%}
    {%- set empty -%}
        (
            select
                cast(null as {{ dbt.type_string() }}) as source_channel,
                cast(null as {{ dbt.type_string() }}) as source_record_id,
                cast(null as {{ dbt.type_string() }}) as identity_record_id
            where 1 = 0
        )
    {%- endset -%}
    {%- set members_table = previous_build('int_contact_record_members') -%}
    {%- if members_table is not none or not execute -%}
        {{ return(members_table if members_table is not none else empty) }}
    {%- endif -%}
    {%- set records_table = previous_build('int_contact_records') -%}
    {%- if records_table is not none and not should_full_refresh() -%}
        {{ exceptions.raise_compiler_error(
            records_table ~ " exists but int_contact_record_members does not, so the identity records the "
            ~ "changed source records belonged to are unknown: rebuild the staging layer in full "
            ~ "(dbt build --full-refresh, or CUSTOMER360_FULL_REFRESH=true)"
        ) }}
    {%- endif -%}
    {{ return(empty) }}
{%- endmacro %}

{#-
    changed_staged_records(sources, every=false, key_name='source_record_id'): one row (source_channel,
    `key_name`) per record of `sources` (entries of identity_input_sources()) with a staging row for which
    identity_input_changed holds, or per record at all with `every`. The models that list what an
    incremental build recomputes (int_contact_records_changed, int_orders_changed,
    int_source_records_changed) share it.
-#}
{% macro changed_staged_records(sources, every=false, key_name='source_record_id') -%}
    {%- for channel, model, key, dated in sources %}
    {% if not loop.first %}union
    {% endif -%}
    select distinct '{{ channel }}' as source_channel, staged.{{ key }} as {{ key_name }}
    from {{ ref(model) }} as staged
    where {{ 'true' if every else identity_input_changed('staged', dated) }}
    {%- endfor %}
{%- endmacro %}

{#-
    recomputed_identity_records(changed, identities): the identity records (source_channel,
    identity_record_id) that the source records of `changed` (int_contact_records_changed: with
    previous_identity_record_id) belonged to after the previous staging build or belong to now (`identities`:
    source_channel, source_record_id, identity_record_id). int_contact_records_unioned recomputes exactly these;
    int_golden_record_inputs_changed compares only these (and identity's changes).
-#}
{% macro recomputed_identity_records(changed, identities) -%}
    select source_channel, previous_identity_record_id as identity_record_id
    from {{ changed }}
    where previous_identity_record_id is not null
    union
    select identities.source_channel, identities.identity_record_id
    from {{ identities }} as identities
    inner join {{ changed }} as changed
        on identities.source_channel = changed.source_channel
        and identities.source_record_id = changed.source_record_id
{%- endmacro %}
