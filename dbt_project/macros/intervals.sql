{#-
    Portable time arithmetic and percentiles for the marts. Engine-specific SQL only behind adapter.dispatch.
-#}

{#- days_after(date_expression, days): the date `days` days after (negative: before) a date, as a date. -#}
{% macro days_after(date_expression, days) -%}
    cast({{ dbt.dateadd('day', days, date_expression) }} as date)
{%- endmacro %}

{#- end_of_day(date_expression): the first instant after the date (midnight of the next day), a timestamp. -#}
{% macro end_of_day(date_expression) -%}
    cast({{ days_after(date_expression, 1) }} as timestamp)
{%- endmacro %}

{#- add_hours(timestamp_expression, hours): the timestamp plus a (column or literal) number of hours. -#}
{% macro add_hours(timestamp_expression, hours) -%}
    {{ dbt.dateadd('hour', hours, timestamp_expression) }}
{%- endmacro %}

{#- hours_between(start, end): exact hours from `start` to `end` (fractional, e.g. 1.5), double precision. -#}
{% macro hours_between(start_expression, end_expression) -%}
    {{ return(adapter.dispatch('hours_between', 'customer360')(start_expression, end_expression)) }}
{%- endmacro %}

{% macro default__hours_between(start_expression, end_expression) -%}
    cast(extract(epoch from (({{ end_expression }}) - ({{ start_expression }}))) / 3600.0 as double precision)
{%- endmacro %}

{% macro duckdb__hours_between(start_expression, end_expression) -%}
    cast((epoch({{ end_expression }}) - epoch({{ start_expression }})) / 3600.0 as double precision)
{%- endmacro %}

{% macro spark__hours_between(start_expression, end_expression) -%}
    cast((unix_micros({{ end_expression }}) - unix_micros({{ start_expression }})) / 3600000000.0 as double)
{%- endmacro %}

{#-
    percentile(expression, fraction): continuous percentile (linear interpolation between the two nearest
    values, as PostgreSQL's percentile_cont) of a numeric expression; an aggregate, nulls ignored.
-#}
{% macro percentile(expression, fraction) -%}
    {{ return(adapter.dispatch('percentile', 'customer360')(expression, fraction)) }}
{%- endmacro %}

{% macro default__percentile(expression, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expression }})
{%- endmacro %}

{% macro duckdb__percentile(expression, fraction) -%}
    quantile_cont({{ expression }}, {{ fraction }})
{%- endmacro %}

{#-
    sla_met(judged_on): whether a ticket version met its SLA, judged at the end of the date `judged_on`.
    Resolved: resolved_at <= sla_due_at. Unresolved: false once sla_due_at has passed by the end of that day,
    else null (the SLA is still running). Expects columns is_resolved, resolved_at, sla_due_at, qualified by
    `relation` when given.
-#}
{% macro sla_met(judged_on, relation=none) -%}
    {%- set p = (relation ~ '.') if relation else '' -%}
    case
        when {{ p }}is_resolved then {{ p }}resolved_at <= {{ p }}sla_due_at
        when {{ p }}sla_due_at < {{ end_of_day(judged_on) }} then false
    end
{%- endmacro %}
