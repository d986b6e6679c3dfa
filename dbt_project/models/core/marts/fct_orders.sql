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

-- Incremental: a daily build recomputes the orders of int_orders_changed from their lines (an order with no
-- line any more comes as its key alone, which replace_keys deletes).

with

changed_orders as (select * from {{ ref('int_orders_changed') }}),

order_lines as (
    {{ recomputed_rows(ref('int_order_lines_unioned'), 'changed_orders', ['source_channel', 'order_id']) }}
),

orders as (
    select
        order_id,
        source_channel,
        -- order-level fields are equal on every line of an order
        max(customer_id) as customer_id,
        min(ordered_at) as ordered_at,
        min(ordered_date) as ordered_date,
        max(order_status) as order_status,
        {{ dbt.bool_or('is_revenue') }} as is_revenue,
        cast(sum(quantity) as bigint) as item_count,
        cast(sum(returned_quantity) as bigint) as returned_item_count,
        cast(sum(gross_amount) as decimal(18, 2)) as gross_amount,
        cast(sum(discount_amount) as decimal(18, 2)) as discount_amount,
        cast(sum(returned_amount) as decimal(18, 2)) as returned_amount,
        cast(sum(net_amount) as decimal(18, 2)) as net_amount,
        -- cost and margin only when every line has a cost: a partial sum would look like a real figure
        cast(case when count(cost_amount) = count(*) then sum(cost_amount) end as decimal(18, 2)) as cost_amount,
        cast(case when count(cost_amount) = count(*) then sum(margin_amount) end as decimal(18, 2)) as margin_amount,
        max(currency) as currency,
        max(store_id) as store_id,
        count(*) as line_count
    from order_lines
    group by order_id, source_channel
),

final as (
    {%- if is_incremental() %}
    -- every recomputed order, or alone when it has no line any more
    {{ replace_keys_batch(
        'changed_orders', 'orders',
        on=[('source_channel', 'source_channel'), ('order_id', 'order_id')],
    ) }}
    {%- else %}
    select * from orders
    {%- endif %}
)

select * from final
