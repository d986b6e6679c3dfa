-- How many of the shop's product categories each customer of dim_customers bought from in the RFM window
-- (revenue order lines, the last var rfm_window_days days up to the as-of date), and whether that makes
-- them a cross-sell candidate: 1 to var cross_sell_max_categories categories.

{%- set max_categories = var('cross_sell_max_categories') | int %}

with

customers as (select * from {{ ref('dim_customers') }}),

order_lines as (select * from {{ ref('fct_order_lines') }}),

window_lines as (
    select *
    from order_lines
    where is_revenue
        and category is not null
        and ordered_date >= {{ rfm_window_start_date() }}
        and ordered_date <= {{ as_of_date() }}
),

offered as (
    select count(distinct category) as categories_sold
    from window_lines
),

customer_categories as (
    select distinct
        customer_id,
        category
    from window_lines
    where customer_id is not null
),

per_customer as (
    select
        customer_id,
        count(*) as categories_bought,
        {{ dbt.listagg('category', "', '", 'order by category') }} as category_list
    from customer_categories
    group by customer_id
),

final as (
    select
        customers.customer_id,
        cast(coalesce(per_customer.categories_bought, 0) as integer) as categories_bought,
        cast(offered.categories_sold as integer) as categories_sold,
        per_customer.category_list,
        coalesce(per_customer.categories_bought, 0) between 1 and {{ max_categories }}
            and offered.categories_sold > coalesce(per_customer.categories_bought, 0)
            as is_cross_sell_candidate
    from customers
    cross join offered
    left join per_customer
        on customers.customer_id = per_customer.customer_id
)

select * from final
