with

order_lines as (select * from {{ ref('int_order_lines_unioned') }}),

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

final as (select * from orders)

select * from final
