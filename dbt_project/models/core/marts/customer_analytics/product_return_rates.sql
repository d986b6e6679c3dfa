-- Return rate per product (SKU) and its category over the RFM window (the last var rfm_window_days days up
-- to the as-of date), from the order lines that were delivered: status completed, partially_returned or
-- returned (not cancelled, not pending). return_rate = units returned / units sold; the category's rate
-- is over all its SKUs' units, so a product can be read against its category.

with

order_lines as (select * from {{ ref('fct_order_lines') }}),

delivered_lines as (
    select
        sku,
        category,
        quantity,
        least(returned_quantity, quantity) as returned_quantity,
        gross_amount - discount_amount as sold_amount,
        returned_amount
    from order_lines
    where order_status in ('completed', 'partially_returned', 'returned')
        and sku is not null
        and ordered_date >= {{ rfm_window_start_date() }}
        and ordered_date <= {{ as_of_date() }}
),

per_product as (
    select
        coalesce(category, 'unknown') as category,
        sku,
        count(*) as order_lines,
        sum(quantity) as units_sold,
        sum(returned_quantity) as units_returned,
        sum(sold_amount) as sold_amount,
        sum(returned_amount) as returned_amount
    from delivered_lines
    group by coalesce(category, 'unknown'), sku
),

with_category as (
    select
        *,
        sum(units_sold) over (partition by category) as category_units_sold,
        sum(units_returned) over (partition by category) as category_units_returned
    from per_product
),

final as (
    select
        category,
        sku,
        {{ as_of_date() }} as as_of_date,
        cast(order_lines as integer) as order_lines,
        cast(units_sold as integer) as units_sold,
        cast(units_returned as integer) as units_returned,
        cast(units_returned as {{ type_double() }}) / nullif(units_sold, 0) as return_rate,
        cast(sold_amount as decimal(18, 2)) as sold_amount,
        cast(returned_amount as decimal(18, 2)) as returned_amount,
        cast(category_units_sold as integer) as category_units_sold,
        cast(category_units_returned as integer) as category_units_returned,
        cast(category_units_returned as {{ type_double() }}) / nullif(category_units_sold, 0)
            as category_return_rate
    from with_category
)

select * from final
