-- Every rule in force in the next_best_action_rules seed must have a condition in customer_next_best_action
-- (macro next_best_action_conditions), and the fallback no_action must be there: otherwise a rule would
-- silently never match, or a customer could end without an action. Returns the offending rules.
with

rules as (select * from {{ ref('next_best_action_rules') }}),

known as (
    {%- for code in next_best_action_conditions() %}
    select '{{ code }}' as action_code{{ ' union all' if not loop.last }}
    {%- endfor %}
),

unknown_rules as (
    select
        rules.rule_id,
        rules.action_code,
        'no condition in customer_next_best_action' as problem
    from rules
    left join known
        on rules.action_code = known.action_code
    where known.action_code is null
),

missing_fallback as (
    select
        cast(null as {{ dbt.type_string() }}) as rule_id,
        'no_action' as action_code,
        'the fallback rule no_action is missing' as problem
    where not exists (select 1 from rules where action_code = 'no_action')
),

final as (
    select * from unknown_rules
    union all
    select * from missing_fallback
)

select * from final
