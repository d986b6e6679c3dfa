{#-
    History from facts: the marts that follow customers over time compute every date of their history from
    the facts a run sees (purchase days, contacts, customers), not from what earlier runs left behind. So a
    run for date D gives the same history whatever dates ran before it and in whatever order
    (docs/incremental.md, "History marts"). One macro per measure is shared by the current mart (one date,
    the as-of date) and its history (every date of int_history_dates), so that the history's row for the
    as-of date is the current mart's row by construction (the tests in tests/assert_history_*.sql check it).
-#}

{#-
    rfm_scores(purchase_days, dates, segment_map): RFM of every customer with a purchase day in the window
    (as_of_date - rfm_window_days, as_of_date], for each as_of_date of `dates`. Quintile scores by value
    within a date: 1 + floor(5 x the share of customers with a worse value on that date), so equal values
    always get equal scores and no id takes part (customer_rfm.yml). A subquery: use it as a CTE's body.
-#}
{% macro rfm_scores(purchase_days, dates, segment_map) -%}
    with

    window_purchases as (
        select
            dates.as_of_date,
            purchase_days.customer_id,
            purchase_days.purchase_date,
            purchase_days.net_amount
        from {{ dates }} as dates
        inner join {{ purchase_days }} as purchase_days
            on purchase_days.purchase_date <= dates.as_of_date
            and purchase_days.purchase_date >= {{ days_after('dates.as_of_date', 1 - (var('rfm_window_days') | int)) }}
    ),

    customer_values as (
        select
            as_of_date,
            customer_id,
            {{ dbt.datediff('max(purchase_date)', 'as_of_date', 'day') }} as recency_days,
            count(*) as frequency,
            cast(sum(net_amount) as decimal(18, 2)) as monetary
        from window_purchases
        group by as_of_date, customer_id
    ),

    -- percent_rank() = (rank - 1) / (n - 1): tied values share it
    ranked as (
        select
            as_of_date,
            customer_id,
            recency_days,
            frequency,
            monetary,
            percent_rank() over (partition by as_of_date order by recency_days desc) as recency_rank,
            percent_rank() over (partition by as_of_date order by frequency) as frequency_rank,
            percent_rank() over (partition by as_of_date order by monetary) as monetary_rank
        from customer_values
    ),

    scored as (
        select
            as_of_date,
            customer_id,
            recency_days,
            frequency,
            monetary,
            cast(least(5, 1 + floor(5 * recency_rank)) as integer) as r_score,
            cast(least(5, 1 + floor(5 * frequency_rank)) as integer) as f_score,
            cast(least(5, 1 + floor(5 * monetary_rank)) as integer) as m_score
        from ranked
    ),

    scored_cells as (
        select
            *,
            cast(floor((f_score + m_score + 1) / 2.0) as integer) as fm_score
        from scored
    )

    select
        scored_cells.customer_id,
        cast(scored_cells.as_of_date as date) as as_of_date,
        cast(scored_cells.recency_days as integer) as recency_days,
        cast(scored_cells.frequency as integer) as frequency,
        scored_cells.monetary,
        cast(scored_cells.r_score as integer) as r_score,
        cast(scored_cells.f_score as integer) as f_score,
        cast(scored_cells.m_score as integer) as m_score,
        {{ dbt.concat([
            dbt.cast('scored_cells.r_score', dbt.type_string()),
            dbt.cast('scored_cells.f_score', dbt.type_string()),
            dbt.cast('scored_cells.m_score', dbt.type_string()),
        ]) }} as rfm_cell,
        scored_cells.fm_score,
        {{ segment_map }}.rfm_segment
    from scored_cells
    left join {{ segment_map }}
        on scored_cells.r_score = {{ segment_map }}.r_score
        and scored_cells.fm_score = {{ segment_map }}.fm_score
{%- endmacro %}

{#-
    first_contact_dates(interactions): each customer's first contact they made themselves that is not an
    order, on or before the as-of date: the `first_contacts` input of lifecycle_stages, shared by the current
    mart and its history. A subquery: use it as a CTE's body.
-#}
{% macro first_contact_dates(interactions) -%}
    select
        customer_id,
        min(interaction_date) as first_contact_date
    from {{ interactions }}
    where customer_id is not null
        and is_customer_initiated
        and interaction_type <> 'order'
        and interaction_date <= {{ as_of_date() }}
    group by customer_id
{%- endmacro %}

{#-
    lifecycle_stages(customer_dates, purchase_days, first_contacts): the lifecycle stage of each customer on
    each date of `customer_dates` (customer_id, as_of_date), with the measures the rules read. Only purchase
    days and first contacts on or before the date count. `first_contacts` holds one row per customer
    (customer_id, first_contact_date): their first customer-initiated contact other than an order. The rules
    are documented in customer_lifecycle.sql. A subquery: use it as a CTE's body.
-#}
{% macro lifecycle_stages(customer_dates, purchase_days, first_contacts) -%}
    {%- set horizon = var('churn_horizon_days') | int %}
    {%- set reactivation_days = var('lifecycle_reactivation_days') | int %}
    {#- a purchase after a gap of the churn horizon or more, within the reactivation window: a comeback #}
    {%- set is_reactivation = 'purchase_gaps.purchase_date > '
        ~ days_after('customer_dates.as_of_date', -reactivation_days)
        ~ ' and purchase_gaps.days_since_previous >= ' ~ horizon %}
    with

    purchase_gaps as (
        select
            customer_id,
            purchase_date,
            order_count,
            {{ dbt.datediff(
                '(lag(purchase_date) over (partition by customer_id order by purchase_date))', 'purchase_date', 'day'
            ) }} as days_since_previous
        from {{ purchase_days }}
    ),

    per_customer_date as (
        select
            customer_dates.customer_id,
            customer_dates.as_of_date,
            count(purchase_gaps.purchase_date) as purchase_days,
            sum(purchase_gaps.order_count) as order_count,
            max(purchase_gaps.purchase_date) as last_order_date,
            sum(
                case
                    when purchase_gaps.purchase_date
                        >= {{ days_after('customer_dates.as_of_date', 1 - (var('rfm_window_days') | int)) }}
                        then 1
                    else 0
                end
            ) as window_purchase_days,
            max(
                case
                    when {{ is_reactivation }}
                        then purchase_gaps.purchase_date
                end
            ) as reactivated_on,
            max(
                case
                    when {{ is_reactivation }}
                        then purchase_gaps.days_since_previous
                end
            ) as reactivation_gap_days
        from {{ customer_dates }} as customer_dates
        left join purchase_gaps
            on customer_dates.customer_id = purchase_gaps.customer_id
            and purchase_gaps.purchase_date <= customer_dates.as_of_date
        group by customer_dates.customer_id, customer_dates.as_of_date
    ),

    measured as (
        select
            per_customer_date.customer_id,
            per_customer_date.as_of_date,
            per_customer_date.purchase_days,
            per_customer_date.order_count,
            per_customer_date.last_order_date,
            per_customer_date.window_purchase_days,
            per_customer_date.reactivated_on,
            per_customer_date.reactivation_gap_days,
            case
                when first_contacts.first_contact_date <= per_customer_date.as_of_date
                    then first_contacts.first_contact_date
            end as first_contact_date,
            {{ dbt.datediff('per_customer_date.last_order_date', 'per_customer_date.as_of_date', 'day') }}
                as days_since_last_order
        from per_customer_date
        left join {{ first_contacts }} as first_contacts
            on per_customer_date.customer_id = first_contacts.customer_id
    )

    select
        *,
        case
            when purchase_days = 0 and first_contact_date is null then 'potential'
            when purchase_days = 0 then 'first_contact'
            when days_since_last_order >= {{ horizon }} then 'lapsed'
            when reactivated_on is not null then 'reactivated'
            when days_since_last_order * 2 >= {{ horizon }} then 'at_risk'
            when purchase_days = 1 then 'first_purchase'
            when window_purchase_days >= {{ var('lifecycle_loyal_min_order_days') | int }} then 'loyal'
            else 'repeat'
        end as lifecycle_stage
    from measured
{%- endmacro %}
