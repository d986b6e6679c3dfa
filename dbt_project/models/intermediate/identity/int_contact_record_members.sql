-- Which identity record each source record belongs to (one row per source record; a CRM contact's versions
-- are one record). Identity resolves identity records; int_source_record_customers carries its answer back
-- to every source record through this map.

with

contact_records as (select * from {{ ref('int_contact_records') }}),

final as (
    select distinct
        source_channel,
        source_record_id,
        identity_record_id
    from contact_records
)

select * from final
