-- customer_rfm_history's rows for the as-of date are customer_rfm's (both come from the rfm_scores macro,
-- macros/history.sql): returns every row found on one side only.

with

history as (select * from {{ ref('customer_rfm_history') }} where as_of_date = {{ as_of_date() }}),

rfm as (select * from {{ ref('customer_rfm') }}),

history_only as (select * from history except select * from rfm),

rfm_only as (select * from rfm except select * from history),

final as (
    select 'customer_rfm_history' as found_in, customer_id, rfm_cell from history_only
    union all
    select 'customer_rfm' as found_in, customer_id, rfm_cell from rfm_only
)

select * from final
