{{
    config(
        materialized='incremental',
        incremental_strategy='replace_keys',
        unique_key=['source_channel', 'source_record_id', 'input_fingerprint'],
        on_schema_change='fail',
        full_refresh=var('marts_full_rebuild', false) or none,
    )
}}

-- The golden record's input rows as the last build of int_customers_golden_record saw them: each identity
-- record's rows by fingerprint, with the customer the record belonged to (int_golden_record_inputs_changed).
-- The next build compares with it to find what changed. Written after every model that reads those changes
-- (the golden record, the customer dimensions, and the order models through int_orders_changed), so that
-- after a failed build it still holds what they were last built from, and the next build recomputes at
-- least as much:
-- depends_on: {{ ref('int_customers_golden_record') }}
-- depends_on: {{ ref('dim_customers') }}
-- depends_on: {{ ref('dim_customer_pii') }}
-- depends_on: {{ ref('int_order_lines_unioned') }}
-- depends_on: {{ ref('fct_order_lines') }}
-- depends_on: {{ ref('fct_orders') }}
--
-- Incremental: an added row is inserted; a removed one comes with no customer, which the replace_keys
-- strategy deletes (a row that moved to another customer comes both ways: deleted, then inserted).

with

changes as (select * from {{ ref('int_golden_record_inputs_changed') }}),

final as (
    select
        source_channel,
        source_record_id,
        input_fingerprint,
        case when change = 'added' then customer_id end as customer_id
    from changes
    {%- if not is_incremental() %}
    where change = 'added'
    {%- endif %}
)

select * from final
