-- Revenue orders (completed or partially returned, net of returns) of resolved customers, per purchase day
-- (UTC date) up to the as-of date: the input of the CLV stage.

with

order_lines as (select * from {{ ref('int_order_lines_unioned') }}),

revenue_lines as (
    select *
    from order_lines
    where is_revenue
        and customer_id is not null
        and ordered_date <= {{ as_of_date() }}
),

revenue_orders as (
    -- one row per order (source_channel, order_id) first, so the day's orders are a count(*): no
    -- count(distinct) over a concatenated key, which DuckDB runs as a second aggregation joined back
    select
        customer_id,
        ordered_date,
        sum(net_amount) as net_amount,
        sum(margin_amount) as margin_amount
    from revenue_lines
    group by customer_id, ordered_date, source_channel, order_id
),

purchase_days as (
    select
        customer_id,
        ordered_date as purchase_date,
        count(*) as order_count,
        cast(sum(net_amount) as decimal(18, 2)) as net_amount,
        cast(sum(margin_amount) as decimal(18, 2)) as margin_amount
    from revenue_orders
    group by customer_id, ordered_date
),

final as (select * from purchase_days)

select * from final
