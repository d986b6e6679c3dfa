-- Every change of a customer's lifecycle stage in their history (customer_lifecycle_history) up to the
-- as-of date: the day the new stage began, the stage before and after. The first stage of a
-- customer's history is where it starts, not a transition.

with

history as (select * from {{ ref('customer_lifecycle_history') }}),

stage_periods as (
    select
        customer_id,
        valid_from,
        lifecycle_stage,
        lag(lifecycle_stage) over (partition by customer_id order by valid_from) as previous_stage
    from history
),

final as (
    select
        customer_id,
        valid_from as changed_on,
        previous_stage as from_stage,
        lifecycle_stage as to_stage
    from stage_periods
    where previous_stage is not null
        and previous_stage <> lifecycle_stage
)

select * from final
