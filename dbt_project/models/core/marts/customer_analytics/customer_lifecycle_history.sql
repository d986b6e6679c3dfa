-- Each customer's lifecycle stages as periods (SCD type 2): one row per run of consecutive checkpoints
-- (int_customer_lifecycle_checkpoints: the days a stage can change) with the same stage. valid_from is the
-- day the stage began, valid_to the day the next one began (null for the current one). Rebuilt from the facts every run
-- (docs/incremental.md, "History marts"), so it is the same whatever dates ran before, in any order, and a
-- run for an earlier date never leaves a period that ends before it starts.

with

daily as (select * from {{ ref('int_customer_lifecycle_checkpoints') }}),

marked as (
    select
        customer_id,
        as_of_date,
        lifecycle_stage,
        lag(lifecycle_stage) over (partition by customer_id order by as_of_date) as previous_stage
    from daily
),

period_starts as (
    select
        customer_id,
        as_of_date as valid_from,
        lifecycle_stage
    from marked
    where previous_stage is null
        or previous_stage <> lifecycle_stage
),

final as (
    select
        customer_id,
        lifecycle_stage,
        cast(valid_from as date) as valid_from,
        cast(lead(valid_from) over (partition by customer_id order by valid_from) as date) as valid_to
    from period_starts
)

select * from final
