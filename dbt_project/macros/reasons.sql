{#- as_text(expression): the expression as text (dates as YYYY-MM-DD, decimals with their scale). -#}
{% macro as_text(expression) -%}
    {{ dbt.cast(expression, dbt.type_string()) }}
{%- endmacro %}

{#- amount_text(expression, scale=2): a number rounded to `scale` decimals, as text ('12.50'). -#}
{% macro amount_text(expression, scale=2) -%}
    {{ as_text('cast(' ~ expression ~ ' as decimal(18, ' ~ scale ~ '))') }}
{%- endmacro %}

{#-
    next_best_action_conditions(): the action codes whose condition customer_next_best_action evaluates, in
    one place for the model and the singular test that checks the seed against it.
-#}
{% macro next_best_action_conditions() -%}
    {{ return([
        'service_recovery', 'win_back', 'vip_care', 'engage_advocate', 'cross_sell', 'nurture_new',
        'reduce_cost', 'no_action',
    ]) }}
{%- endmacro %}
