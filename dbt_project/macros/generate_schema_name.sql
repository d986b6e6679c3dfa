{#- Custom schema names are used as they are (`staging`, not `main_staging`), on every target but one:
    the `published` target reads the published snapshot, where every mart is a table in its one schema. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none or target.name == 'published' -%}
        {{ target.schema | trim }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
