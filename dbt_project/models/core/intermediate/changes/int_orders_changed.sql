{{
    config(
        full_refresh=var('marts_full_rebuild', false) or none,
    )
}}

-- The orders whose lines this build recomputes (int_order_lines_unioned, fct_order_lines, fct_orders, and
-- their rows of fct_interactions): an order's lines depend on its own staging rows, on the store returns of
-- a sale, on the as-of date and on the customer its source record resolves to. So the list holds:
--
-- 1. the web orders and store transactions with a staging row that may have changed since the previous
--    core build, or dated into the days since its as-of date (identity_input_changed: the planner passes
--    the core layer's own previous build, customer360.incremental);
-- 2. the orders whose identity record moved to another customer since the previous build (read from
--    int_golden_record_inputs_changed, whose state is written only after the order models are built);
-- 3. the sale of each store return among them, and the returns of each sale among them (a late sale takes
--    in a return that stood alone; a new return changes its sale), so that every sale is recomputed with
--    all its returns and every return with its sale.
--
-- A full build recomputes every order and lists nothing, as does the first build (no order model built yet).
-- Without the planner's vars (a build by hand) every order is listed: correct, not fast.

{%- set consumers = ['int_order_lines_unioned', 'fct_order_lines', 'fct_orders', 'fct_interactions'] %}
{%- set built = [] %}
{%- for consumer in consumers if execute and previous_build(consumer) is not none %}
    {%- do built.append(consumer) %}
{%- endfor %}
{#- an order model missing while the others are built (dropped by hand): list every order, so that the built
    ones recompute everything while the missing one is built in full -#}
{%- set every_order = 0 < built | length < consumers | length %}
{%- set sources = identity_input_sources() | selectattr(0, 'in', ['web', 'pos']) | list %}
{#- the dependencies, whichever branch renders below (a full build reads nothing) #}
{%- for model in sources | map(attribute=1) | list + ['int_golden_record_inputs_changed', 'int_contact_record_members'] %}
-- depends_on: {{ ref(model) }}
{%- endfor %}

with

{% if should_full_refresh() or not built -%}
final as (
    -- a full build recomputes every order: nothing to list
    select
        cast(null as {{ dbt.type_string() }}) as source_channel,
        cast(null as {{ dbt.type_string() }}) as order_id
    where 1 = 0
)
{%- else -%}
pos_lines as (select * from {{ ref('stg_pos_transactions__transaction_lines') }}),

identity_changes as (select * from {{ ref('int_golden_record_inputs_changed') }}),

members as (select * from {{ ref('int_contact_record_members') }}),

changed_rows as (
    {{ changed_staged_records(sources, every=every_order, key_name='order_id') }}
),

moved_identity_records as (
    -- identity records of the order channels whose customer changed, or that are new or gone
    select source_channel, source_record_id as identity_record_id
    from identity_changes
    where source_channel in ('web', 'pos')
    group by source_channel, source_record_id
    having count(distinct customer_id) > 1 or count(distinct change) = 1
),

moved_orders as (
    select members.source_channel, members.source_record_id as order_id
    from members
    inner join moved_identity_records
        on members.source_channel = moved_identity_records.source_channel
        and members.identity_record_id = moved_identity_records.identity_record_id
),

changed_orders as (
    select source_channel, order_id from changed_rows
    union
    select source_channel, order_id from moved_orders
),

changed_pos_transactions as (
    select order_id as transaction_id
    from changed_orders
    where source_channel = 'pos'
),

linked_pos_transactions as (
    -- the sale of a changed return
    select distinct pos_lines.original_transaction_id as transaction_id
    from pos_lines
    inner join changed_pos_transactions
        on pos_lines.transaction_id = changed_pos_transactions.transaction_id
    where pos_lines.transaction_type = 'return'
        and pos_lines.original_transaction_id is not null
    union
    -- the returns of a changed sale
    select distinct pos_lines.transaction_id
    from pos_lines
    inner join changed_pos_transactions
        on pos_lines.original_transaction_id = changed_pos_transactions.transaction_id
    where pos_lines.transaction_type = 'return'
),

final as (
    select source_channel, order_id from changed_orders
    union
    select 'pos' as source_channel, transaction_id as order_id from linked_pos_transactions
)
{%- endif %}

select * from final
