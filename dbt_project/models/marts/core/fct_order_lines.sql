with

order_lines as (select * from {{ ref('int_order_lines_unioned') }}),

final as (
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
)

select * from final
