{#- Custom schema names are used as they are (`staging`, not `main_staging`), on every target but two cases:
    the `published` target reads the published snapshot, where every mart is a table in its one schema, and
    on the `duckdb` target the marts are built in their own file (database `marts`, dbt_project.yml) in that
    file's `main` schema, the snapshot's layout. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none or target.name == 'published' -%}
        {{ target.schema | trim }}
    {%- elif target.name == 'duckdb' and custom_schema_name | trim == 'marts' -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
