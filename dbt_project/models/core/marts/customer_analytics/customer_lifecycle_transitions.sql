-- Every change of a customer's lifecycle stage recorded by the customer_lifecycle_snapshot snapshot up to
-- the as-of date: the day the new stage was first seen (its dbt_valid_from), the stage before and after.
-- The first stage recorded for a customer is where their history starts, not a transition.

with

snapshot as (select * from {{ ref('customer_lifecycle_snapshot') }}),

stage_periods as (
    select
        customer_id,
        cast(dbt_valid_from as date) as valid_from_date,
        lifecycle_stage,
        lag(lifecycle_stage) over (partition by customer_id order by dbt_valid_from) as previous_stage
    from snapshot
    where cast(dbt_valid_from as date) <= {{ as_of_date() }}
),

final as (
    select
        customer_id,
        valid_from_date as changed_on,
        previous_stage as from_stage,
        lifecycle_stage as to_stage
    from stage_periods
    where previous_stage is not null
        and previous_stage <> lifecycle_stage
)

select * from final
