{#-
    replace_keys: an incremental strategy for models that recompute whole keys (`incremental_strategy=
    'replace_keys'`, `unique_key` one column or a list). Like delete+insert, every key the batch names is
    deleted from the table, then the batch's rows are inserted; a key may have several rows (a CRM contact's
    versions). In addition, a batch row whose columns other than the key are all null names a key that has
    no row any more (a ticket whose latest version carries no contact field, a contact signature no source
    record has left): it is deleted and not inserted. delete+insert cannot remove such a key, since it
    deletes only keys it inserts again.

    Plain SQL (correlated `exists`, no MERGE), the same on DuckDB and PostgreSQL.
-#}
{% macro get_incremental_replace_keys_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set batch = arg_dict['temp_relation'] -%}
    {%- set keys = arg_dict['unique_key'] -%}
    {%- if keys is string -%}{%- set keys = [keys] -%}{%- endif -%}
    {%- set keys = keys | map('lower') | list -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='name') | list -%}
    {%- set values = columns | reject('in', keys) | list -%}
    {%- if not keys or not values -%}
        {{ exceptions.raise_compiler_error(
            "incremental_strategy 'replace_keys' needs a unique_key and at least one other column ("
            ~ this ~ ")"
        ) }}
    {%- endif -%}
    delete from {{ target }} as replaced
    where exists (
        select 1
        from {{ batch }} as recomputed
        where
            {%- for key in keys %}
            recomputed.{{ adapter.quote(key) }} = replaced.{{ adapter.quote(key) }}{{ ' and' if not loop.last }}
            {%- endfor %}
    );

    insert into {{ target }} ({{ get_quoted_csv(columns) }})
    select {{ get_quoted_csv(columns) }}
    from {{ batch }}
    where not (
        {%- for column in values %}
        {{ adapter.quote(column) }} is null{{ ' and' if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{#-
    replace_keys_batch(keys, rows, on, columns=none): the batch of a replace_keys model: every key of the
    relation `keys` with its rows from `rows`, or alone (its other columns null) when it has none any more, so
    that the strategy deletes it. `on` pairs each key column of `keys` with the column of `rows` it matches,
    whose name the batch keeps; `columns` are the other columns, from `rows`. Without `columns` (the key
    columns must then have the same names on both sides) the batch has every column of `rows`: a join
    `using` the keys lists them once.
-#}
{% macro replace_keys_batch(keys, rows, on, columns=none) -%}
    {%- if columns is none %}
    select *
    from {{ keys }}
    left join {{ rows }}
        using ({% for key, column in on %}{{ key }}{{ ', ' if not loop.last }}{% endfor %})
    {%- else %}
    select
        {%- for key, column in on %}
        {{ keys }}.{{ key }} as {{ column }},
        {%- endfor %}
        {%- for column in columns %}
        {{ rows }}.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ keys }}
    left join {{ rows }}
        on {% for key, column in on -%}
        {{ keys }}.{{ key }} = {{ rows }}.{{ column }}{{ ' and ' if not loop.last }}
        {%- endfor %}
    {%- endif %}
{%- endmacro %}

{#-
    recomputed_rows(relation, keys, on): the rows of `relation` a replace_keys model recomputes: in an
    incremental build only those whose `on` columns match a row of the relation `keys` (the keys the batch
    replaces), in a full build all of them.
-#}
{% macro recomputed_rows(relation, keys, on) -%}
    select recomputed.*
    from {{ relation }} as recomputed
    {%- if is_incremental() %}
    inner join {{ keys }}
        on {% for column in on -%}
        recomputed.{{ column }} = {{ keys }}.{{ column }}{{ ' and ' if not loop.last }}
        {%- endfor %}
    {%- endif %}
{%- endmacro %}
