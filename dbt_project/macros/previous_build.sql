{#-
    previous_build(model_name): the table of this project's model `model_name` as an earlier build left it,
    or none when there is none (or while dbt parses). For a model that must read what a model depending on
    it wrote last time (the changes since then): a ref would be a cycle, so the table is looked up by name.
    It is still the earlier build's table when the model that writes it depends on the one reading it.
-#}
{% macro previous_build(model_name) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'model' and node.package_name == project_name and node.name == model_name -%}
        {{ return(adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias)) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("previous_build: no model named " ~ model_name) }}
{%- endmacro %}

{#-
    row_fingerprint(expressions): one value that changes when any of `expressions` changes (nulls included),
    to tell whether a row is what an earlier build saw. On DuckDB its 64-bit hash of all the values; elsewhere
    the md5 of the values written as text (each null as `\N`, separated by `|`).
-#}
{% macro row_fingerprint(expressions) -%}
    {{ return(adapter.dispatch('row_fingerprint', 'customer360')(expressions)) }}
{%- endmacro %}

{% macro default__row_fingerprint(expressions) -%}
    {%- set parts = [] -%}
    {%- for expression in expressions -%}
        {%- if not loop.first -%}{%- do parts.append("'|'") -%}{%- endif -%}
        {%- do parts.append("coalesce(cast(" ~ expression ~ " as " ~ dbt.type_string() ~ "), " ~ null_marker() ~ ")") -%}
    {%- endfor -%}
    md5({{ dbt.concat(parts) }})
{%- endmacro %}

{% macro duckdb__row_fingerprint(expressions) -%}
    hash({{ expressions | join(', ') }})
{%- endmacro %}
