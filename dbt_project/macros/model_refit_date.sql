{#-
    The models' refit date for the run: the latest date on or before the as-of date that is a whole number of
    var model_refit_days days after 2024-01-01 (a Monday). customer360.model_artifacts.refit_date computes the
    same date in Python: the churn and CLV models are fitted on data up to it, so a date's model does not
    depend on which runs came before. A SQL date literal (null while dbt parses without a run date).
-#}
{% macro model_refit_date() -%}
    {%- set value = run_context('as_of_date') -%}
    {%- if value is none or (value | string | trim) == '' -%}
        cast(null as date)
    {%- else -%}
        {%- set refit_days = var('model_refit_days', 7) | int -%}
        {%- if refit_days < 1 -%}
            {{ exceptions.raise_compiler_error("var 'model_refit_days' must be at least 1, got " ~ refit_days) }}
        {%- endif -%}
        {%- set as_of = modules.datetime.date.fromisoformat(value | string | trim) -%}
        {%- set epoch = modules.datetime.date(2024, 1, 1) -%}
        {%- set refit = as_of - modules.datetime.timedelta(days=((as_of - epoch).days % refit_days)) -%}
        cast('{{ refit.isoformat() }}' as date)
    {%- endif -%}
{%- endmacro %}
