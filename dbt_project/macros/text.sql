{#- regex_matches(expression, pattern): true when the text matches the (POSIX/RE2-compatible) pattern. -#}
{% macro regex_matches(expression, pattern) -%}
    {{ return(adapter.dispatch('regex_matches', 'customer360')(expression, pattern)) }}
{%- endmacro %}

{% macro default__regex_matches(expression, pattern) -%}
    ({{ expression }} ~ '{{ pattern }}')
{%- endmacro %}

{% macro duckdb__regex_matches(expression, pattern) -%}
    regexp_matches({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{#- Spark: Java regular expressions, a match anywhere in the text as with `~` (anchor with ^ and $). -#}
{% macro spark__regex_matches(expression, pattern) -%}
    ({{ expression }} rlike '{{ pattern }}')
{%- endmacro %}

{#- regex_replace_all(expression, pattern, replacement): every match of the pattern replaced. -#}
{% macro regex_replace_all(expression, pattern, replacement) -%}
    {{ return(adapter.dispatch('regex_replace_all', 'customer360')(expression, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regex_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{#- Spark's regexp_replace replaces every match; its fourth argument is a position, not flags. -#}
{% macro spark__regex_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}')
{%- endmacro %}

{#-
    null_marker(): the SQL literal of the text `\N` that stands for null in fingerprints and contact
    signatures. Spark reads a backslash in a literal as an escape, so it needs the backslash doubled.
-#}
{% macro null_marker() -%}
    {{ return(adapter.dispatch('null_marker', 'customer360')()) }}
{%- endmacro %}

{% macro default__null_marker() -%}
    '\N'
{%- endmacro %}

{% macro spark__null_marker() -%}
    '\\N'
{%- endmacro %}

{#- clean_text(column): trimmed text, null when empty. -#}
{% macro clean_text(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}

{#- clean_email(column): trimmed, lower-cased, null when empty (provider rules are the identity stage's). -#}
{% macro clean_email(column) -%}
    nullif(lower(trim({{ column }})), '')
{%- endmacro %}

{#- mask_email: `j***@gmail.com` (first character of the local part, the domain kept). -#}
{% macro mask_email(column) -%}
    case
        when {{ column }} is not null
            then {{ dbt.concat(["left(" ~ column ~ ", 1)", "'***@'", "split_part(" ~ column ~ ", '@', 2)"]) }}
    end
{%- endmacro %}

{#- mask_phone: `+3161****678` (the first five and the last three characters kept). -#}
{% macro mask_phone(column) -%}
    case
        when {{ column }} is not null
            then {{ dbt.concat(["left(" ~ column ~ ", 5)", "'****'", "right(" ~ column ~ ", 3)"]) }}
    end
{%- endmacro %}

{#- pseudonymize(column): md5 hex of salt || value, the salt from var('pseudonym_salt'). -#}
{% macro pseudonymize(column) -%}
    {%- set salt = var('pseudonym_salt') | string -%}
    md5({{ dbt.concat(["'" ~ dbt.escape_single_quotes(salt) ~ "'", column]) }})
{%- endmacro %}

{#-
    country_code(column, lookup): ISO-2 code for a country delivered as a code or an English name.
    `lookup` is the alias of the joined `country_codes` seed (join on lower(trim(column)) = country_name).
-#}
{% macro country_code(column, lookup) -%}
    coalesce(
        {{ lookup }}.country_code,
        case when length(trim({{ column }})) = 2 then upper(trim({{ column }})) end
    )
{%- endmacro %}
