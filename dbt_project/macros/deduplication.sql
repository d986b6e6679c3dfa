{#-
    delivered_records(relation, key_columns, latest_version=none): the raw rows of `relation` delivered by the
    as-of date (`_load_date <= as_of_date`), one per business key. Two steps:

    1. Exact duplicates (same `_record_hash`: every contract column equal) collapse into their first
       delivery (earliest `_load_date`, then `_source_file`, then `_source_line`). `duplicate_count` on the
       kept row is how many copies were dropped.
    2. Distinct records with the same business key (`key_columns`, e.g. an order line re-sent after its
       status changed, or a contact re-sent with the phone formatted differently) are versions: the latest
       one wins (the greatest `latest_version` first when given, an expression over the relation's columns
       such as the record's own `updated_at`, nulls last; then the latest delivery). `superseded_count` on
       the kept row is how many raw rows of its key it replaced.

    3. With `version_of` (e.g. `['order_id']` for web order lines keyed by order_id and line_number), the
       business key is part of a larger record delivered whole (one web order lists all its lines): the
       record's latest version (the raw row ranked first by the same order as in step 2 within the
       `version_of` key) replaces all of its rows. A line that the latest version no longer lists is
       dropped, and its raw rows count in the `superseded_count` of the record's first kept row (by
       business key), so that the sum below still holds. A redelivery with fewer lines but the same
       `latest_version` value counts as the later version by its delivery.

    So for every staging model: raw rows delivered by the as-of date
        = count(*) + sum(duplicate_count) + sum(superseded_count).
    The result has the relation's columns and these two counts.

    In an incremental build (the staging models are `incremental`, delete+insert on the business key, or on
    the `version_of` key when given) only the keys with a raw row delivered since the previous build are
    recomputed, from all raw rows of those keys, so every kept row and count is what a full rebuild would
    give (`delivered_since`, customer360.incremental).

    The ranking runs on a narrow projection (the keys, the version expression, the hash and the lineage
    columns), and the kept rows are then joined back to the relation on (`_record_hash`, `_source_file`,
    `_source_line`): window functions carry every column they are given through their sorts, and on the
    full raw rows they were most of a first build's cost (DECISIONLOG.md, "Staging ranks a narrow
    projection"). That triple names one raw row, except for exact
    copies of one record in one source line (a nested web order listing the same item twice): a kept row
    with copies (`duplicate_count > 0`, a few in a thousand) is joined back apart and made distinct, so
    such copies still give one row.

    Pass the source relation itself (`source('surveys', 'surveys')`), not an import CTE over it: the
    macro reads the relation more than once, and DuckDB materialises a CTE read twice, with every column of
    the whole history. Read directly, the incremental build's first read takes the key columns of the new
    rows only, instead of every column of the history.
-#}
{% macro delivered_records(relation, key_columns, latest_version=none, version_of=none) -%}
    {%- set keys = key_columns | map('string') | map('trim') | list -%}
    {%- set partition = 'trim(' ~ (keys | join('), trim(')) ~ ')' -%}
    {%- set records = (version_of | map('string') | map('trim') | list) if version_of else [] -%}
    {%- set changed_keys = records if records else keys -%}
    {%- set version_order -%}
        {{ 'version_key desc nulls last,' if latest_version }} _load_date desc, _source_file desc, _source_line desc
    {%- endset -%}
    {%- set joined_on -%}
        on delivered_row._record_hash = kept._record_hash
        and delivered_row._source_file = kept._source_file
        and delivered_row._source_line = kept._source_line
    {%- endset -%}
    with

    kept as (
        select
            _record_hash,
            _source_file,
            _source_line,
            duplicate_count,
            {%- if records %}
            superseded_count + case
                when row_number() over (
                    partition by {% for key in records %}record_key_{{ loop.index }}{{ ', ' if not loop.last }}{% endfor %}
                    order by {% for key in keys %}business_key_{{ loop.index }}{{ ', ' if not loop.last }}{% endfor %}
                ) = 1 then dropped_rows
                else 0
            end as superseded_count
            {%- else %}
            superseded_count
            {%- endif %}
        from (
            select
                *,
                row_number() over (
                    partition by {% for key in keys %}business_key_{{ loop.index }}{{ ', ' if not loop.last }}{% endfor %}
                    order by {{ version_order }}
                ) as version_rank
            from (
            {%- if records %}
            -- the rows of the record's latest version, and how many raw rows of the lines it dropped
            select *, sum(1 - in_latest_version) over (
                partition by {% for key in records %}record_key_{{ loop.index }}{{ ', ' if not loop.last }}{% endfor %}
            ) as dropped_rows
            from (
            select *, max(
                case when _source_file = latest_file and _source_line = latest_line then 1 else 0 end
            ) over (
                partition by {% for key in keys %}business_key_{{ loop.index }}{{ ', ' if not loop.last }}{% endfor %}
            ) as in_latest_version
            from (
            select *,
                first_value(_source_file) over latest_first as latest_file,
                first_value(_source_line) over latest_first as latest_line
            from (
            {%- endif %}
                select
                    {%- for key in keys %}
                    trim({{ key }}) as business_key_{{ loop.index }},
                    {%- endfor %}
                    {%- for key in records %}
                    trim({{ key }}) as record_key_{{ loop.index }},
                    {%- endfor %}
                    {%- if latest_version %}
                    {{ latest_version }} as version_key,
                    {%- endif %}
                    _record_hash,
                    _load_date,
                    _source_file,
                    _source_line,
                    row_number() over (
                        partition by _record_hash
                        order by _load_date, _source_file, _source_line
                    ) as duplicate_rank,
                    count(*) over (partition by _record_hash) - 1 as duplicate_count,
                    count(*) over (partition by {{ partition }})
                        - count(*) over (partition by _record_hash) as superseded_count
                from {{ relation }} as delivered_row
                where _load_date <= {{ as_of_date() }}
                {%- if is_incremental() %}
                    and exists (
                        select 1
                        from {{ relation }} as changed
                        where {{ delivered_since('changed') }}
                        {%- for key in changed_keys %}
                            and trim(changed.{{ key }}) = trim(delivered_row.{{ key }})
                        {%- endfor %}
                    )
                {%- endif %}
            {%- if records %}
            ) as raw_rows
            window latest_first as (
                partition by {% for key in records %}record_key_{{ loop.index }}{{ ', ' if not loop.last }}{% endfor %}
                order by {{ version_order }}
            )
            ) as with_latest
            ) as marked
            ) as delivered
            where duplicate_rank = 1
                and in_latest_version = 1
            {%- else %}
            ) as delivered
            where duplicate_rank = 1
            {%- endif %}
        ) as versions
        where version_rank = 1
    )

    select delivered_row.*, kept.duplicate_count, kept.superseded_count
    from {{ relation }} as delivered_row
    inner join kept
        {{ joined_on }}
    where kept.duplicate_count = 0
    union all
    select distinct delivered_row.*, kept.duplicate_count, kept.superseded_count
    from {{ relation }} as delivered_row
    inner join kept
        {{ joined_on }}
    where kept.duplicate_count > 0
{%- endmacro %}

{#- The lineage columns every staging model carries through unchanged, optionally qualified by `relation`. -#}
{% macro lineage_columns(relation=none) -%}
    {%- set prefix = (relation ~ '.') if relation else '' -%}
    {%- for column in ['_load_date', '_source_file', '_source_line', '_file_sha256', '_record_hash',
                       '_ingest_run_id', 'duplicate_count', 'superseded_count'] -%}
        {{ prefix ~ column }}{{ ',' if not loop.last }}
    {% endfor -%}
{%- endmacro %}

{#-
    delivered_since(alias): true for a raw row (of `alias`) that the previous staging build had not seen: one
    delivered after that build's as-of date and by this one's, or one from a file ingested after that build
    started (a late file). The runner passes both as vars (customer360.incremental.BuildPlan); without them
    every row counts as new, so an incremental build by hand recomputes every key (correct, not fast).
-#}
{% macro delivered_since(alias) -%}
    {%- set since = run_context('incremental_since_as_of') -%}
    {%- set late_files = run_context('incremental_files', []) or [] -%}
    {%- if since is none -%}
        {{ alias }}._load_date <= {{ as_of_date() }}
    {%- else -%}
        (
            {{ alias }}._load_date <= {{ as_of_date() }}
            and (
                {{ alias }}._load_date > cast('{{ since }}' as date)
                {%- if late_files %}
                or {{ alias }}._source_file in (
                    {%- for file in late_files %}'{{ file | replace("'", "''") }}'{{ ',' if not loop.last }}{% endfor -%}
                )
                {%- endif %}
            )
        )
    {%- endif -%}
{%- endmacro %}
