{#-
    run_context(name, default=none): a value of this run that changes from one run to the next (the as-of
    date, and the incremental planner's `incremental_since_as_of`, `incremental_files`,
    `incremental_files_from`, `incremental_identity_since` and `incremental_staging_builds`). `--vars` wins when it sets the name (a build by hand:
    `dbt build --vars '{as_of_date: 2026-11-24}'`); otherwise the value is read, when a node runs, from the
    environment variable `CUSTOMER360_RUN_<NAME>` (JSON), which the pipeline's runner sets
    (customer360.dbt_runner).

    Why not `--vars` for everything: dbt parses the whole project again whenever `--vars` differ from the
    previous invocation's (a cost paid by each of a run's three layers), and these values differ every
    day. An
    environment variable read only while nodes execute (`execute` is false while dbt parses) is not part of
    what parsing saw, so the daily runs keep dbt's partial parsing. Nothing read here may decide a node's
    config, refs or sources, which are fixed at parse time.
-#}
{% macro run_context(name, default=none) -%}
    {%- set value = var(name, none) -%}
    {%- if value is none and execute -%}
        {%- set text = env_var('CUSTOMER360_RUN_' ~ (name | upper), '') -%}
        {%- if text | trim != '' -%}
            {%- set value = fromjson(text) -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(default if value is none else value) }}
{%- endmacro %}

{#-
    A data test's `where` config is rendered while dbt parses, before the run's date is known (see
    run_context): write `__as_of_date__` there, and it is replaced by the run's as-of date when the test
    runs. Otherwise dbt's own get_where_subquery.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- set where = where | replace('__as_of_date__', as_of_date()) -%}
        (select * from {{ relation }} where {{ where }}) dbt_subquery
    {%- else -%}
        {{ relation }}
    {%- endif -%}
{%- endmacro %}
