-- Every change of a customer's lifecycle stage recorded by the customer_lifecycle_snapshot snapshot up to
-- the as-of date: the day the new stage was first seen (its dbt_valid_from), the stage before and after.
-- The first stage recorded for a customer is where their history starts, not a transition.

with

snapshot as (select * from {{ ref('customer_lifecycle_snapshot') }}),

-- history recorded before the stages were renamed (prospect -> potential, churned -> lapsed) reads with
-- today's names, so the rename itself is not a transition; a period closed on the day it opened (a rerun
-- of that date replaced it) never held
named_periods as (
    select
        customer_id,
        dbt_valid_from,
        case lifecycle_stage
            when 'prospect' then 'potential'
            when 'churned' then 'lapsed'
            else lifecycle_stage
        end as lifecycle_stage
    from snapshot
    where dbt_valid_to is null
        or dbt_valid_to > dbt_valid_from
),

stage_periods as (
    select
        customer_id,
        cast(dbt_valid_from as date) as valid_from_date,
        lifecycle_stage,
        lag(lifecycle_stage) over (partition by customer_id order by dbt_valid_from) as previous_stage
    from named_periods
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
