-- Which identity record each source record belongs to (one row per source record; a CRM contact's versions
-- are one record). Identity resolves identity records; int_source_record_customers carries its answer back
-- to every source record through this map.

with

contact_records as (select * from {{ ref('int_contact_records') }}),

final as (
    -- one row per source record already, except CRM contacts (a row per version)
    select source_channel, source_record_id, identity_record_id
    from contact_records
    where source_channel <> 'crm'
    union all
    select distinct source_channel, source_record_id, identity_record_id
    from contact_records
    where source_channel = 'crm'
)

select * from final
