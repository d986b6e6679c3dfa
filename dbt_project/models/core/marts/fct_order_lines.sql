{#- on_schema_change append_new_columns: the enforced contract already checks the columns on every build;
    'fail' would also compare the contract's declared types with the batch's (varchar and text on
    PostgreSQL) and stop. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_keys',
        unique_key=['source_channel', 'order_id'],
        on_schema_change='append_new_columns',
        full_refresh=var('marts_full_rebuild', false) or none,
    )
}}

-- Incremental: a daily build replaces the lines of the orders of int_orders_changed (an order with no line
-- any more comes as its key alone, which replace_keys deletes).

with

changed_orders as (select * from {{ ref('int_orders_changed') }}),

order_lines as (
    {{ recomputed_rows(ref('int_order_lines_unioned'), 'changed_orders', ['source_channel', 'order_id']) }}
),

fact_lines as (
    select
        order_line_id,
        order_id,
        source_channel,
        line_number,
        customer_id,
        ordered_at,
        ordered_date,
        order_status,
        is_revenue,
        store_id,
        currency,
        sku,
        category,
        quantity,
        returned_quantity,
        unit_price,
        unit_cost,
        gross_amount,
        discount_amount,
        returned_amount,
        net_amount,
        cost_amount,
        margin_amount
    from order_lines
),

final as (
    {%- if is_incremental() %}
    -- every recomputed order with its lines, or alone when it has none any more
    {{ replace_keys_batch(
        'changed_orders', 'fact_lines',
        on=[('source_channel', 'source_channel'), ('order_id', 'order_id')],
    ) }}
    {%- else %}
    select * from fact_lines
    {%- endif %}
)

select * from final
