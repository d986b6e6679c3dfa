{#- on_schema_change append_new_columns: the enforced contract already checks the columns (fct_order_lines) -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_keys',
        unique_key=['source_channel', 'source_record_id'],
        on_schema_change='append_new_columns',
        full_refresh=var('marts_full_rebuild', false) or none,
    )
}}

-- Incremental: a daily build replaces the rows of the source records of int_source_records_changed, as
-- int_source_record_customers does.

with

changed_records as (select * from {{ ref('int_source_records_changed') }}),

customer_source_xref as (
    {{ recomputed_rows(ref('int_source_record_customers'), 'changed_records', ['source_channel', 'source_record_id']) }}
),

record_customers as (
    select
        customer_id,
        source_channel,
        source_record_id,
        match_rule,
        cast(match_score as {{ type_double() }}) as match_score
    from customer_source_xref
),

final as (
    {%- if is_incremental() %}
    -- every recomputed source record with its customer, or alone when it has none any more
    {{ replace_keys_batch(
        'changed_records', 'record_customers',
        on=[('source_channel', 'source_channel'), ('source_record_id', 'source_record_id')],
        columns=['customer_id', 'match_rule', 'match_score'],
    ) }}
    {%- else %}
    select * from record_customers
    {%- endif %}
)

select * from final
