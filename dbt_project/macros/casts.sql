{#-
    Safe casts from raw text. Ingest already quarantines rows whose values fail the contract's types, so
    these are a second line of defence: a value that still does not parse becomes null instead of failing
    the whole model. DuckDB uses try_cast; other engines guard the cast with a pattern.
-#}

{% macro parse_integer(column) -%}
    {{ return(adapter.dispatch('parse_integer', 'customer360')(column)) }}
{%- endmacro %}

{% macro default__parse_integer(column) -%}
    case when {{ regex_matches('trim(' ~ column ~ ')', '^[+-]?[0-9]{1,18}$') }} then cast(trim({{ column }}) as bigint) end
{%- endmacro %}

{% macro duckdb__parse_integer(column) -%}
    try_cast(trim({{ column }}) as bigint)
{%- endmacro %}


{#- parse_decimal(column, precision=18, scale=2): `.` is the decimal mark (landing contract). -#}
{% macro parse_decimal(column, precision=18, scale=2) -%}
    {{ return(adapter.dispatch('parse_decimal', 'customer360')(column, precision, scale)) }}
{%- endmacro %}

{% macro default__parse_decimal(column, precision, scale) -%}
    case
        when {{ regex_matches('trim(' ~ column ~ ')', '^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)$') }}
            then cast(trim({{ column }}) as decimal({{ precision }}, {{ scale }}))
    end
{%- endmacro %}

{% macro duckdb__parse_decimal(column, precision, scale) -%}
    try_cast(trim({{ column }}) as decimal({{ precision }}, {{ scale }}))
{%- endmacro %}


{#- parse_date(column): `YYYY-MM-DD`. -#}
{% macro parse_date(column) -%}
    {{ return(adapter.dispatch('parse_date', 'customer360')(column)) }}
{%- endmacro %}

{% macro default__parse_date(column) -%}
    case
        when {{ regex_matches('trim(' ~ column ~ ')', '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$') }}
            then cast(trim({{ column }}) as date)
    end
{%- endmacro %}

{% macro duckdb__parse_date(column) -%}
    try_cast(trim({{ column }}) as date)
{%- endmacro %}


{#- parse_bool(column): true/false, 1/0, yes/no, y/n, t/f in any case (landing contract); anything else null. -#}
{% macro parse_bool(column) -%}
    case
        when lower(trim({{ column }})) in ('true', 't', '1', 'yes', 'y') then true
        when lower(trim({{ column }})) in ('false', 'f', '0', 'no', 'n') then false
    end
{%- endmacro %}
