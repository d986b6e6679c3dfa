{#-
    The run's logical date as a SQL date literal: `cast('2026-11-24' as date)`.
    Time comes from the run (`--vars '{as_of_date: 2026-11-24}'`, or the pipeline's run context: see
    run_context), never from the clock.
-#}
{% macro as_of_date() -%}
    {%- set value = run_context('as_of_date') -%}
    {%- if value is none or (value | string | trim) == '' -%}
        {%- if execute -%}
            {{ exceptions.raise_compiler_error(
                "var 'as_of_date' is not set: pass the run's logical date, e.g. "
                ~ "dbt build --vars '{as_of_date: 2026-11-24}'"
            ) }}
        {%- endif -%}
        cast(null as date)
    {%- else -%}
        {%- set text = value | string | trim -%}
        {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', text) -%}
            {{ exceptions.raise_compiler_error(
                "var 'as_of_date' must be a date written YYYY-MM-DD, got '" ~ text ~ "'"
            ) }}
        {%- endif -%}
        cast('{{ text }}' as date)
    {%- endif -%}
{%- endmacro %}

{#- The first day of the RFM window: as_of_date minus rfm_window_days, plus one (the window holds that many days). -#}
{% macro rfm_window_start_date() -%}
    {{ dbt.dateadd('day', 1 - (var('rfm_window_days') | int), as_of_date()) }}
{%- endmacro %}
