-- The source records whose identity input this build recomputes (macros/identity_input_changes.sql): those
-- with a staging row delivered since the previous build, or dated into the window it opens. With each, the
-- identity record it belonged to after the previous build, so int_contact_records_unioned also recomputes
-- the one a record has left. A full build recomputes everything and lists nothing.

with

crm_contacts as (select * from {{ ref('stg_crm__contacts') }}),

web_order_lines as (select * from {{ ref('stg_web_shop__order_lines') }}),

pos_transaction_lines as (select * from {{ ref('stg_pos__transaction_lines') }}),

tickets as (select * from {{ ref('stg_service_desk__tickets') }}),

marketing_events as (select * from {{ ref('stg_marketing__events') }}),

survey_responses as (select * from {{ ref('stg_surveys__responses') }}),

previous_members as (select * from {{ previous_contact_record_members() }} as members),

changed_records as (
    {%- if should_full_refresh() %}
    -- a full build recomputes every record: nothing to list
    select source_channel, source_record_id
    from previous_members
    where 1 = 0
    {%- else %}
    select distinct 'crm' as source_channel, contact_id as source_record_id
    from crm_contacts
    where {{ identity_input_changed('crm_contacts', 'updated_at') }}
    union all
    select distinct 'web' as source_channel, order_id as source_record_id
    from web_order_lines
    where {{ identity_input_changed('web_order_lines', 'ordered_at') }}
    union all
    select distinct 'pos' as source_channel, transaction_id as source_record_id
    from pos_transaction_lines
    where {{ identity_input_changed('pos_transaction_lines', 'transacted_at') }}
    union all
    select distinct 'tickets' as source_channel, ticket_id as source_record_id
    from tickets
    where {{ identity_input_changed('tickets', 'updated_at') }}
    union all
    select distinct 'marketing' as source_channel, event_id as source_record_id
    from marketing_events
    where {{ identity_input_changed('marketing_events', 'event_at') }}
    union all
    select distinct 'surveys' as source_channel, response_id as source_record_id
    from survey_responses
    where {{ identity_input_changed('survey_responses', 'submitted_at') }}
    {%- endif %}
),

final as (
    select
        changed_records.source_channel,
        changed_records.source_record_id,
        previous_members.identity_record_id as previous_identity_record_id
    from changed_records
    left join previous_members
        on changed_records.source_channel = previous_members.source_channel
        and changed_records.source_record_id = previous_members.source_record_id
)

select * from final
