{#-
    household_components(): the CTEs `reached` and `households` of models/core/marts/customer_households.sql,
    which reads the CTEs `member_keys` and `links` before them: each customer holding a shared identifier,
    with the smallest customer id of the customers it is linked to, also through one another (`households`:
    customer_id, first_customer_id).

    DuckDB and PostgreSQL walk the links with a recursive CTE whose UNION drops the pairs already reached, so
    it ends. Spark's recursive CTEs take UNION ALL only, which would walk a cycle forever: there each customer
    takes the smallest id among itself and its linked customers, in `household_rounds` rounds (one link
    further each round), and the build stops with an error when the last round still changed a customer's id
    (a chain of customers longer than the rounds), instead of publishing half-joined households.
-#}
{% macro household_components() -%}
    {{ return(adapter.dispatch('household_components', 'customer360')()) }}
{%- endmacro %}

{% macro default__household_components() -%}
reached (customer_id, reached_customer_id) as (
    select distinct customer_id, customer_id from member_keys
    union
    select reached.customer_id, links.to_customer_id
    from reached
    inner join links on reached.reached_customer_id = links.from_customer_id
),

households as (
    select customer_id, min(reached_customer_id) as first_customer_id
    from reached
    group by customer_id
)
{%- endmacro %}

{% macro spark__household_components() -%}
{%- set rounds = var('household_rounds', 16) | int -%}
linked_or_self as (
    select distinct customer_id as from_customer_id, customer_id as to_customer_id from member_keys
    union all
    select from_customer_id, to_customer_id from links
),

household_round_0 as (
    select distinct customer_id, customer_id as first_customer_id from member_keys
),
{% for round in range(1, rounds + 1) %}
household_round_{{ round }} as (
    select linked_or_self.from_customer_id as customer_id, min(previous.first_customer_id) as first_customer_id
    from linked_or_self
    inner join household_round_{{ round - 1 }} as previous
        on linked_or_self.to_customer_id = previous.customer_id
    group by linked_or_self.from_customer_id
),
{% endfor %}
households as (
    select
        last_round.customer_id,
        case
            when last_round.first_customer_id = before_last.first_customer_id then last_round.first_customer_id
            else raise_error('customer_households: a chain of linked customers is longer than {{ rounds }} links (raise the var household_rounds)')
        end as first_customer_id
    from household_round_{{ rounds }} as last_round
    inner join household_round_{{ rounds - 1 }} as before_last
        on last_round.customer_id = before_last.customer_id
)
{%- endmacro %}
