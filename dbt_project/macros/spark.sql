{#-
    The Spark target (docs/spark.md) keeps its tables as Parquet, which cannot delete rows: the incremental
    models' `delete+insert` and `replace_keys` strategies have no Spark SQL to run. The runner builds every
    layer in full on Spark (customer360.dbt_runner), so these models are created whole; this override of
    dbt-spark's check lets them through in a full build and stops an incremental one with a message, instead
    of dbt-spark's "Invalid incremental strategy".
-#}
{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) %}
    {%- if raw_strategy in ['delete+insert', 'replace_keys'] -%}
        {%- if not should_full_refresh() and load_relation(this) is not none -%}
            {% do exceptions.raise_compiler_error(
                "incremental_strategy '" ~ raw_strategy ~ "' of " ~ this ~ " needs deletes, which Parquet "
                ~ "tables on Spark do not have: build with --full-refresh (the customer360 runner does so on "
                ~ "the Spark target)"
            ) %}
        {%- endif -%}
        {% do return(raw_strategy) %}
    {%- endif -%}
    {% do return(dbt.dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format)) %}
{% endmacro %}

{#-
    register_raw_tables(tables, location): on Spark, declare each raw table that ingest handed over as Parquet
    (customer360.spark_handover) as the table `raw.<name>` over `<location>/<name>`, so the dbt sources
    (schema `raw`) read it; a table already declared is declared again (dropping the declaration leaves the files), so Spark reads the files as they are now.
    `dbt run-operation register_raw_tables --args '{tables: [...], location: ...}'`.
-#}
{% macro register_raw_tables(tables, location) %}
    {% do register_parquet_tables('raw', tables, location) %}
{% endmacro %}

{#-
    register_parquet_tables(schema, tables, location): on Spark, declare each folder `<location>/<name>` of
    Parquet files as the table `<schema>.<name>` (dropped and declared again when it exists, so Spark reads the
    files as they are now). The raw hand-over uses it for `raw`, and the hand-over of stages that do not run on
    Spark yet for `identity` and `analytics` (customer360.spark_handover).
-#}
{% macro register_parquet_tables(schema, tables, location) %}
    {%- if target.type != 'spark' -%}
        {{ exceptions.raise_compiler_error("register_parquet_tables is for the Spark target, not " ~ target.type) }}
    {%- endif -%}
    {% do run_query("create schema if not exists " ~ schema) %}
    {%- for name in tables %}
        {%- set path = location ~ '/' ~ name -%}
        {% do run_query("drop table if exists " ~ schema ~ "." ~ name) %}
        {% do run_query("create table " ~ schema ~ "." ~ name ~ " using parquet location '" ~ path ~ "'") %}
        {{ log(schema ~ "." ~ name ~ " reads " ~ path, info=true) }}
    {%- endfor %}
{% endmacro %}

{#-
    Seeds on the in-process session (dbt-spark's `session` method): its cursor puts each value between
    quotes without escaping it, so a seed value holding a quote ("people's republic of china") breaks the
    insert. Here the values are written as Spark literals with backslash escapes instead (on every method:
    Spark SQL reads them the same, and no driver has to bind them).
-#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set types = [] -%}
    {%- for col_name in agate_table.column_names -%}
        {%- do types.append(column_override.get(col_name, adapter.convert_type(agate_table, loop.index0))) -%}
    {%- endfor -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                ({%- for value in row -%}
                    {%- if value is none -%}
                        cast(null as {{ types[loop.index0] }})
                    {%- else -%}
                        cast('{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}' as {{ types[loop.index0] }})
                    {%- endif -%}
                    {%- if not loop.last %},{% endif -%}
                {%- endfor -%}){%- if not loop.last %},{% endif %}
            {% endfor -%}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.first -%}{%- do statements.append(sql) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(statements[0]) }}
{% endmacro %}

{#-
    dbt's cast on Spark, which the model contracts' checks use (`get_empty_schema_sql` casts null to each
    declared `data_type`): the contracts declare `varchar` and `double precision` (DuckDB's and PostgreSQL's
    names), which Spark's parser does not take (a bare VARCHAR needs a length); here they become Spark's
    `string` and `double`, the types the models' own casts give on Spark. Other types pass through.
-#}
{% macro spark__cast(field, type) -%}
    cast({{ field }} as {{ spark_type_name(type) }})
{%- endmacro %}

{% macro spark_type_name(type) -%}
    {%- set name = type | trim | lower -%}
    {%- if name in ('varchar', 'text', 'character varying') -%}
        string
    {%- elif name == 'double precision' -%}
        double
    {%- else -%}
        {{ type }}
    {%- endif -%}
{%- endmacro %}

{#-
    Model contracts on Spark: dbt-spark adds each declared `not_null` constraint with ALTER COLUMN ... SET NOT
    NULL, which only Delta tables take; on the Parquet tables of this target (no `file_format`, whose default
    dbt-spark takes for Delta) that statement fails. The contract's columns and types are still checked before
    the table is made (`get_assert_columns_equivalent`), and the not_null data tests still run.
-#}
{% macro spark__persist_constraints(relation, model) -%}
    {%- if config.get('file_format') == 'delta' -%}
        {% do return(dbt_spark.spark__persist_constraints(relation, model)) %}
    {%- endif -%}
{%- endmacro %}

{#-
    dbt.listagg on Spark with its order: dbt-spark's own ignores the `order by` (a warning, then collect_list's
    order, which depends on the partitions), so `channels_present` and `category_list` came out in another
    order than on DuckDB and PostgreSQL. Here the values are collected with their sort key and sorted:
    `order_by_clause` is `order by <expression> [asc|desc]`, one expression.
-#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if order_by_clause -%}
        {%- set words = order_by_clause | trim | lower -%}
        {%- if not words.startswith('order by ') or ',' in words -%}
            {{ exceptions.raise_compiler_error("listagg on Spark takes one 'order by <expression> [asc|desc]', not: " ~ order_by_clause) }}
        {%- endif -%}
        {%- set key = (order_by_clause | trim)[9:] | trim -%}
        {%- set descending = key.lower().endswith(' desc') -%}
        {%- if descending or key.lower().endswith(' asc') -%}
            {%- set key = key.rsplit(' ', 1)[0] -%}
        {%- endif -%}
        {%- set sorted = "array_sort(collect_list(struct(" ~ key ~ " as sort_key, " ~ measure ~ " as measure)))" -%}
        {%- set collected = "transform(" ~ ("reverse(" ~ sorted ~ ")" if descending else sorted) ~ ", x -> x.measure)" -%}
    {%- else -%}
        {%- set collected = "collect_list(" ~ measure ~ ")" -%}
    {%- endif -%}
    {%- if limit_num -%}
        {%- set collected = "slice(" ~ collected ~ ", 1, " ~ limit_num ~ ")" -%}
    {%- endif -%}
    array_join({{ collected }}, {{ delimiter_text }})
{%- endmacro %}
