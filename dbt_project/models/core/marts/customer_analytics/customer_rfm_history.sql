{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='as_of_date',
        on_schema_change='fail',
        pre_hook="{% if is_incremental() %}delete from {{ this }} where as_of_date = {{ as_of_date() }}{% endif %}",
    )
}}

-- Appends each run's customer_rfm under its as_of_date. A rerun for the same date replaces that date's
-- rows (delete+insert on as_of_date; the pre-hook also clears the date when the new run has no rows), so
-- reruns and backfills are idempotent.

with

customer_rfm as (select * from {{ ref('customer_rfm') }}),

final as (
    select
        customer_id,
        as_of_date,
        recency_days,
        frequency,
        monetary,
        r_score,
        f_score,
        m_score,
        rfm_cell,
        fm_score,
        rfm_segment
    from customer_rfm
)

select * from final
