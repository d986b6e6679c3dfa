{#-
    drop_retired_relations(): drop the tables and views this project made once and no longer owns, listed in
    var `retired_relations` as `schema.identifier` (in the target's database). It runs as the project's
    on-run-start hook of every `dbt build` or `dbt run` that builds the core build (`--selector core`) or
    selects without a selector, and as `dbt run-operation drop_retired_relations`. Only listed relations are
    dropped, only when they exist (a new warehouse has none: no-op), and never one a model, seed or snapshot
    of the project still builds. On DuckDB, PostgreSQL and Spark alike: adapter.get_relation finds it,
    adapter.drop_relation drops it (`drop table|view if exists`).
-#}
{% macro drop_retired_relations() -%}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- set command = flags.WHICH -%}
    {%- set selector = invocation_args_dict.get('selector') -%}
    {%- if command != 'run-operation' and not (command in ['build', 'run'] and selector in [none, 'core']) -%}
        {{ return('') }}
    {%- endif -%}
    {%- set owned = [] -%}
    {%- for node in graph.nodes.values() if node.resource_type in ['model', 'seed', 'snapshot'] -%}
        {%- do owned.append((node.schema ~ '.' ~ (node.alias or node.name)) | lower) -%}
        {#- the name in the configured schema too: on the duckdb target the marts are `main` of the marts file -#}
        {%- if node.config.schema -%}
            {%- do owned.append((node.config.schema ~ '.' ~ (node.alias or node.name)) | lower) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set dropped = [] -%}
    {%- for name in var('retired_relations', []) -%}
        {%- set parts = name.split('.') -%}
        {%- if parts | length != 2 -%}
            {{ exceptions.raise_compiler_error("retired_relations: '" ~ name ~ "' is not schema.identifier") }}
        {%- endif -%}
        {%- if name | lower in owned -%}
            {{ exceptions.raise_compiler_error("retired_relations: '" ~ name ~ "' is still built by this project") }}
        {%- endif -%}
        {%- set relation = adapter.get_relation(database=target.database, schema=parts[0], identifier=parts[1]) -%}
        {%- if relation is not none -%}
            {%- do adapter.drop_relation(relation) -%}
            {%- do dropped.append(name) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if dropped -%}
        {%- do log("drop_retired_relations: dropped " ~ (dropped | join(', ')), info=True) -%}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}
