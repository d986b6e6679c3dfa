-- The lifecycle history ends in customer_lifecycle: the current periods of customer_lifecycle_history and
-- int_customer_lifecycle_checkpoints's rows for the as-of date hold exactly customer_lifecycle's stages (all come
-- from the lifecycle_stages macro, macros/history.sql). Returns every row found on one side only.

with

lifecycle as (select customer_id, lifecycle_stage from {{ ref('customer_lifecycle') }}),

current_periods as (
    select customer_id, lifecycle_stage
    from {{ ref('customer_lifecycle_history') }}
    where valid_to is null
),

daily as (
    select customer_id, lifecycle_stage
    from {{ ref('int_customer_lifecycle_checkpoints') }}
    where as_of_date = {{ as_of_date() }}
),

final as (
    (select 'customer_lifecycle_history' as found_in, * from current_periods
     except select 'customer_lifecycle_history', * from lifecycle)
    union all
    (select 'int_customer_lifecycle_checkpoints' as found_in, * from daily
     except select 'int_customer_lifecycle_checkpoints', * from lifecycle)
    union all
    (select 'customer_lifecycle (not current in the history)' as found_in, * from lifecycle
     except select 'customer_lifecycle (not current in the history)', * from current_periods)
    union all
    (select 'customer_lifecycle (not in the daily history)' as found_in, * from lifecycle
     except select 'customer_lifecycle (not in the daily history)', * from daily)
)

select * from final
