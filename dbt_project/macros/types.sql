{#-
    Type names that differ between the engines, for casts in the models (dbt's own type macros cover string,
    bigint, timestamp; dbt.type_float() is a single-precision float on DuckDB, so it is not used for these).
-#}

{#- type_double(): a double-precision float: `double precision` on DuckDB and PostgreSQL, `double` on Spark. -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'customer360')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double precision
{%- endmacro %}

{% macro spark__type_double() -%}
    double
{%- endmacro %}

{#-
    type_numeric(): the exact decimal a double is cast to before `round` (rounding a decimal is exact):
    `numeric` on DuckDB (DECIMAL(18,3)) and PostgreSQL (unbounded). Spark's bare `numeric` is DECIMAL(10,0),
    which would drop every fraction before the rounding: DuckDB's DECIMAL(18,3) is spelled out there.
-#}
{% macro type_numeric() -%}
    {{ return(adapter.dispatch('type_numeric', 'customer360')()) }}
{%- endmacro %}

{% macro default__type_numeric() -%}
    numeric
{%- endmacro %}

{% macro spark__type_numeric() -%}
    decimal(18,3)
{%- endmacro %}

{#- type_text(): text of any length: `varchar` on DuckDB and PostgreSQL, `string` on Spark (whose VARCHAR needs a
    length). -#}
{% macro type_text() -%}
    {{ return(adapter.dispatch('type_text', 'customer360')()) }}
{%- endmacro %}

{% macro default__type_text() -%}
    varchar
{%- endmacro %}

{% macro spark__type_text() -%}
    string
{%- endmacro %}
