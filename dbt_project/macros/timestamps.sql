{#-
    to_utc_timestamp(column, source_tz): ISO-8601 text -> timestamp without time zone, in UTC.

    - With an offset (`2026-11-24T10:15:00+08:00`, `...Z`, `+0800`, `+08`) the instant is exact: the
      offset wins over source_tz.
    - Without one (`2026-11-24T10:15:00`, or a bare date meaning midnight) the text is wall-clock time in
      source_tz (an IANA name such as Europe/Amsterdam), converted with the engine's time-zone database.
      A time that does not exist (spring-forward gap) or exists twice (autumn overlap) is read with the
      zone's standard offset: Europe/Amsterdam 02:30 on those nights is 01:30 UTC, on DuckDB (ICU) and
      PostgreSQL alike (the stg_pos_transactions__transaction_lines unit test pins it).
    - Text that is not an ISO timestamp becomes null (ingest already quarantines such rows).
-#}
{% macro to_utc_timestamp(column, source_tz) -%}
    {{ return(adapter.dispatch('to_utc_timestamp', 'customer360')(column, source_tz)) }}
{%- endmacro %}

{%- macro _iso_timestamp_with_offset_pattern() -%}
^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]+)?)? ?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$
{%- endmacro -%}

{%- macro _iso_timestamp_local_pattern() -%}
^[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?)?$
{%- endmacro -%}

{% macro default__to_utc_timestamp(column, source_tz) -%}
    case
        when {{ regex_matches('trim(' ~ column ~ ')', _iso_timestamp_with_offset_pattern()) }}
            then cast(trim({{ column }}) as timestamp with time zone) at time zone 'UTC'
        when {{ regex_matches('trim(' ~ column ~ ')', _iso_timestamp_local_pattern()) }}
            then (cast(trim({{ column }}) as timestamp) at time zone '{{ source_tz }}') at time zone 'UTC'
    end
{%- endmacro %}

{% macro duckdb__to_utc_timestamp(column, source_tz) -%}
    case
        when {{ regex_matches('trim(' ~ column ~ ')', _iso_timestamp_with_offset_pattern()) }}
            then timezone('UTC', try_cast(trim({{ column }}) as timestamptz))
        when {{ regex_matches('trim(' ~ column ~ ')', _iso_timestamp_local_pattern()) }}
            then timezone('UTC', timezone('{{ source_tz }}', try_cast(trim({{ column }}) as timestamp)))
    end
{%- endmacro %}

{#-
    Spark: the text is first written the way Spark's cast reads it (`T` and `Z` in upper case, `.` before
    the fraction, the offset as `+hh:mm` right after the time); a wall-clock time is then moved from
    source_tz to UTC by to_utc_timestamp. Results are `timestamp` values in the session's time zone, which
    the profile sets to UTC. to_utc_timestamp reads an autumn-overlap time with the earlier (summer) offset;
    when the wall-clock time also occurs an hour later, that later instant (the standard offset) is taken,
    as on DuckDB and PostgreSQL.
-#}
{% macro spark__to_utc_timestamp(column, source_tz) -%}
    {%- set text = 'upper(trim(' ~ column ~ '))' -%}
    {%- set text = "regexp_replace(" ~ text ~ ", ',', '.')" -%}
    {%- set text = "regexp_replace(" ~ text ~ ", ' ?Z$', '+00:00')" -%}
    {%- set text = "regexp_replace(" ~ text ~ ", ' ?([+-][0-9]{2}):?([0-9]{2})$', '$1:$2')" -%}
    {%- set text = "regexp_replace(" ~ text ~ ", ' ?([+-][0-9]{2})$', '$1:00')" -%}
    {%- set local = 'cast(upper(trim(' ~ column ~ ')) as timestamp)' -%}
    {%- set summer = "to_utc_timestamp(" ~ local ~ ", '" ~ source_tz ~ "')" -%}
    case
        when {{ regex_matches('trim(' ~ column ~ ')', _iso_timestamp_with_offset_pattern()) }}
            then cast({{ text }} as timestamp)
        when {{ regex_matches('trim(' ~ column ~ ')', _iso_timestamp_local_pattern()) }}
            then case
                when from_utc_timestamp({{ summer }} + interval 1 hour, '{{ source_tz }}') = {{ local }}
                    then {{ summer }} + interval 1 hour
                else {{ summer }}
            end
    end
{%- endmacro %}

{#-
    source_timezone(raw_table): the IANA time zone in which the raw table's offset-less timestamps were
    written, from var('source_timezones') (defaults in dbt_project.yml follow the landing contract). Stops
    the run with a message when the runner passes a map without the table, rather than guessing UTC.
-#}
{% macro source_timezone(raw_table) -%}
    {%- set zones = var('source_timezones', {}) -%}
    {%- if raw_table not in zones -%}
        {{ exceptions.raise_compiler_error(
            "var 'source_timezones' has no time zone for raw table '" ~ raw_table ~ "' (it has: "
            ~ (zones.keys() | list | join(', ')) ~ "). Pass every channel's zone, e.g. "
            ~ "--vars '{source_timezones: {" ~ raw_table ~ ": Europe/Amsterdam, ...}}'"
        ) }}
    {%- endif -%}
    {{ return(zones[raw_table]) }}
{%- endmacro %}
