-- RFM as of the as-of date over the window (as_of_date - rfm_window_days, as_of_date]. Quintile scores
-- by value: a customer's score is 1 + floor(5 x the share of customers with a worse value), so equal
-- values always get equal scores and no id takes part (see the YAML).

with

purchase_days as (select * from {{ ref('int_customer_purchase_days') }}),

segment_map as (select * from {{ ref('rfm_segment_map') }}),

window_purchases as (
    select *
    from purchase_days
    where purchase_date <= {{ as_of_date() }}
        and purchase_date >= {{ rfm_window_start_date() }}
),

customer_values as (
    select
        customer_id,
        {{ dbt.datediff('max(purchase_date)', as_of_date(), 'day') }} as recency_days,
        count(*) as frequency,
        cast(sum(net_amount) as decimal(18, 2)) as monetary
    from window_purchases
    group by customer_id
),

-- percent_rank() = (rank - 1) / (n - 1): tied values share it
ranked as (
    select
        customer_id,
        recency_days,
        frequency,
        monetary,
        percent_rank() over (order by recency_days desc) as recency_rank,
        percent_rank() over (order by frequency) as frequency_rank,
        percent_rank() over (order by monetary) as monetary_rank
    from customer_values
),

scored as (
    select
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
),

final as (
    select
        scored_cells.customer_id,
        {{ as_of_date() }} as as_of_date,
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
        segment_map.rfm_segment
    from scored_cells
    left join segment_map
        on scored_cells.r_score = segment_map.r_score
        and scored_cells.fm_score = segment_map.fm_score
)

select * from final
