{#-
    Sums and averages whose result does not depend on the order the rows arrive in (docs/marts.md,
    "Order-independent aggregates"). Adding doubles is not associative: the same rows summed in another
    order (another physical layout of a table, another join order, another thread split) can differ in the
    last bits, so a rerun over the same marts could publish a different value. These macros round each value
    to `scale` decimal places (default 9), sum exactly as DECIMAL(38, scale), and only then convert: the
    result depends on the values alone. Every sum or average of a non-integer, non-decimal value in a model
    goes through them; sums of integers and decimals are exact already and stay plain.
    DECIMAL(38, 9) holds sums below 1e29 on DuckDB, PostgreSQL (numeric) and Spark alike.
-#}

{#- exact_sum(expression, scale): the exact DECIMAL(38, scale) sum of `expression` rounded to `scale` places. -#}
{% macro exact_sum(expression, scale=9) -%}
    sum(cast({{ expression }} as decimal(38, {{ scale }})))
{%- endmacro %}

{#- exact_avg(expression, scale): the average of the non-null values of `expression`, as a double, from their
    exact sum (null when there are none, as avg). -#}
{% macro exact_avg(expression, scale=9) -%}
    cast({{ exact_sum(expression, scale) }} as {{ type_double() }}) / count({{ expression }})
{%- endmacro %}
