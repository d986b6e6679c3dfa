{#- The mart folders name the database `marts` (dbt_project.yml): on the `duckdb` target that is the marts' own
    file, attached under that name (profiles.yml); every other target builds them in its own database as
    before (the `marts` schema of PostgreSQL and Spark, the published snapshot's file). -#}
{% macro generate_database_name(custom_database_name=none, node=none) -%}
    {%- if custom_database_name is not none and target.name == 'duckdb' -%}
        {{ custom_database_name | trim }}
    {%- else -%}
        {{ default__generate_database_name(none, node) }}
    {%- endif -%}
{%- endmacro %}
