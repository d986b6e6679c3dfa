-- Every source record that can identify a person, with its customer: the identity stage's answer for the
-- record's identity record (int_contact_record_members), so a marketing event, store transaction, web
-- order or survey response links to its customer exactly as the identity record it belongs to.

with

members as (select * from {{ ref('int_contact_record_members') }}),

customer_source_xref as (select * from {{ source('identity', 'customer_source_xref') }}),

final as (
    select
        members.source_channel,
        members.source_record_id,
        members.identity_record_id,
        customer_source_xref.customer_id,
        customer_source_xref.match_rule,
        customer_source_xref.match_score
    from members
    inner join customer_source_xref
        on members.source_channel = customer_source_xref.source_channel
        and members.identity_record_id = customer_source_xref.source_record_id
)

select * from final
