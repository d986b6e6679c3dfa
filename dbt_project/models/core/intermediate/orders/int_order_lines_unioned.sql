{{
    config(
        materialized='incremental',
        incremental_strategy='replace_keys',
        unique_key=['source_channel', 'order_id'],
        on_schema_change='fail',
        full_refresh=var('marts_full_rebuild', false) or none,
    )
}}

-- Web order lines and store sale lines in one layout, returns applied, with the order's status and the
-- resolved customer. Lines ordered after the as-of date, and store returns made after it, are left out.
--
-- Incremental: a daily build recomputes the orders of int_orders_changed from all their rows (a store sale
-- with all its returns, a return with its sale) and replaces their lines; an order with no line any more (a
-- return that stood alone until its sale arrived) comes as its key alone, which replace_keys deletes.

with

changed_orders as (select * from {{ ref('int_orders_changed') }}),

web_order_lines as (
    select *
    from {{ ref('stg_web_orders__order_lines') }}
    {%- if is_incremental() %}
    where order_id in (select order_id from changed_orders where source_channel = 'web')
    {%- endif %}
),

pos_transaction_lines as (
    select *
    from {{ ref('stg_pos_transactions__transaction_lines') }}
    {%- if is_incremental() %}
    where transaction_id in (select order_id from changed_orders where source_channel = 'pos')
        or original_transaction_id in (select order_id from changed_orders where source_channel = 'pos')
    {%- endif %}
),

customer_source_xref as (select * from {{ ref('int_source_record_customers') }}),

web_lines as (
    select
        'web' as source_channel,
        order_id,
        line_number,
        order_id as customer_record_id,
        ordered_at,
        order_status as source_order_status,
        cast(null as {{ dbt.type_string() }}) as store_id,
        currency,
        sku,
        category,
        quantity,
        case
            when order_status = 'returned' then quantity
            else least(coalesce(returned_quantity, 0), quantity)
        end as returned_quantity,
        unit_price,
        unit_cost,
        coalesce(discount_amount, 0) as discount_amount
    from web_order_lines
    where cast(ordered_at as date) <= {{ as_of_date() }}
),

web_lines_valued as (
    select
        *,
        quantity * unit_price as gross_amount,
        cast(
            case
                when quantity > 0
                    then round((quantity * unit_price - discount_amount) * returned_quantity / quantity, 2)
                else 0
            end
            as decimal(18, 2)
        ) as returned_amount
    from web_lines
),

pos_sales as (
    select
        *,
        -- returns are matched on (original transaction, sku); they go to the sale's first line of that sku
        row_number() over (partition by transaction_id, sku order by line_number) as sku_line_rank
    from pos_transaction_lines
    where transaction_type = 'sale'
        and cast(transacted_at as date) <= {{ as_of_date() }}
),

pos_returns as (
    select *
    from pos_transaction_lines
    where transaction_type = 'return'
        and cast(transacted_at as date) <= {{ as_of_date() }}
),

pos_returns_by_sale as (
    select
        original_transaction_id,
        sku,
        cast(sum(quantity) as bigint) as returned_quantity,
        sum(quantity * unit_price - coalesce(discount_amount, 0)) as returned_amount
    from pos_returns
    group by original_transaction_id, sku
),

pos_sale_lines as (
    select
        'pos' as source_channel,
        pos_sales.transaction_id as order_id,
        pos_sales.line_number,
        pos_sales.transaction_id as customer_record_id,
        pos_sales.transacted_at as ordered_at,
        'completed' as source_order_status,
        pos_sales.store_id,
        '{{ var('default_currency') }}' as currency,
        pos_sales.sku,
        pos_sales.category,
        pos_sales.quantity,
        coalesce(pos_returns_by_sale.returned_quantity, 0) as returned_quantity,
        pos_sales.unit_price,
        pos_sales.unit_cost,
        coalesce(pos_sales.discount_amount, 0) as discount_amount,
        pos_sales.quantity * pos_sales.unit_price as gross_amount,
        cast(coalesce(pos_returns_by_sale.returned_amount, 0) as decimal(18, 2)) as returned_amount
    from pos_sales
    left join pos_returns_by_sale
        on pos_sales.transaction_id = pos_returns_by_sale.original_transaction_id
        and pos_sales.sku = pos_returns_by_sale.sku
        and pos_sales.sku_line_rank = 1
),

pos_unmatched_return_lines as (
    -- a return whose sale is not in the warehouse (or not of that sku) stands alone: a negative order
    select
        'pos' as source_channel,
        pos_returns.transaction_id as order_id,
        pos_returns.line_number,
        pos_returns.transaction_id as customer_record_id,
        pos_returns.transacted_at as ordered_at,
        'returned' as source_order_status,
        pos_returns.store_id,
        '{{ var('default_currency') }}' as currency,
        pos_returns.sku,
        pos_returns.category,
        0 as quantity,
        pos_returns.quantity as returned_quantity,
        pos_returns.unit_price,
        pos_returns.unit_cost,
        cast(0 as decimal(18, 2)) as discount_amount,
        cast(0 as decimal(18, 2)) as gross_amount,
        cast(
            pos_returns.quantity * pos_returns.unit_price - coalesce(pos_returns.discount_amount, 0)
            as decimal(18, 2)
        ) as returned_amount
    from pos_returns
    left join pos_sales
        on pos_returns.original_transaction_id = pos_sales.transaction_id
        and pos_returns.sku = pos_sales.sku
    where pos_sales.transaction_id is null
),

unioned as (
    select
        source_channel,
        order_id,
        line_number,
        customer_record_id,
        ordered_at,
        source_order_status,
        store_id,
        currency,
        sku,
        category,
        quantity,
        returned_quantity,
        unit_price,
        unit_cost,
        discount_amount,
        gross_amount,
        returned_amount
    from web_lines_valued
    union all
    select * from pos_sale_lines
    union all
    select * from pos_unmatched_return_lines
),

order_totals as (
    -- an aggregate joined back, not a window: no sort of every (wide) line by order
    select
        source_channel,
        order_id,
        sum(quantity) as order_quantity,
        sum(returned_quantity) as order_returned_quantity
    from unioned
    group by source_channel, order_id
),

with_order_status as (
    select
        unioned.*,
        case
            when source_order_status in ('cancelled', 'pending') then source_order_status
            when source_order_status = 'returned' then 'returned'
            when order_returned_quantity > 0 and order_returned_quantity >= order_quantity then 'returned'
            when order_returned_quantity > 0 then 'partially_returned'
            else 'completed'
        end as order_status
    from unioned
    inner join order_totals
        on unioned.source_channel = order_totals.source_channel
        and unioned.order_id = order_totals.order_id
),

order_lines as (
    select
        {{ dbt.concat(["with_order_status.source_channel", "':'", "with_order_status.order_id", "':'",
                       dbt.cast("with_order_status.line_number", dbt.type_string())]) }} as order_line_id,
        with_order_status.source_channel,
        with_order_status.order_id,
        with_order_status.line_number,
        with_order_status.customer_record_id,
        customer_source_xref.customer_id,
        with_order_status.ordered_at,
        cast(with_order_status.ordered_at as date) as ordered_date,
        with_order_status.order_status,
        with_order_status.order_status in ('completed', 'partially_returned') as is_revenue,
        with_order_status.store_id,
        with_order_status.currency,
        with_order_status.sku,
        with_order_status.category,
        cast(with_order_status.quantity as bigint) as quantity,
        cast(with_order_status.returned_quantity as bigint) as returned_quantity,
        with_order_status.unit_price,
        with_order_status.unit_cost,
        cast(with_order_status.gross_amount as decimal(18, 2)) as gross_amount,
        cast(with_order_status.discount_amount as decimal(18, 2)) as discount_amount,
        cast(with_order_status.returned_amount as decimal(18, 2)) as returned_amount,
        cast(
            with_order_status.gross_amount - with_order_status.discount_amount - with_order_status.returned_amount
            as decimal(18, 2)
        ) as net_amount,
        cast(
            greatest(with_order_status.quantity - with_order_status.returned_quantity, 0)
            * with_order_status.unit_cost
            as decimal(18, 2)
        ) as cost_amount,
        cast(
            with_order_status.gross_amount
            - with_order_status.discount_amount
            - with_order_status.returned_amount
            - greatest(with_order_status.quantity - with_order_status.returned_quantity, 0)
            * with_order_status.unit_cost
            as decimal(18, 2)
        ) as margin_amount
    from with_order_status
    left join customer_source_xref
        on with_order_status.source_channel = customer_source_xref.source_channel
        and with_order_status.customer_record_id = customer_source_xref.source_record_id
),

final as (
    {%- if is_incremental() %}
    -- every recomputed order with its lines, or alone when it has none any more
    {{ replace_keys_batch(
        'changed_orders', 'order_lines',
        on=[('source_channel', 'source_channel'), ('order_id', 'order_id')],
    ) }}
    {%- else %}
    select * from order_lines
    {%- endif %}
)

select * from final
