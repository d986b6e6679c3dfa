-- How and how often each customer of dim_customers is in touch, and whether marketing may contact them.
--
-- preferred_channel: the channel of most customer-initiated interactions (fct_interactions) in the last
-- var contact_window_days days, surveys and unsubscribes left out; ties go to the channel used most
-- recently, then to the channel name. Null without such interactions.
-- contacts_90d: interactions other than orders (tickets, survey answers, marketing and social events, in
-- both directions) in (D-90, D]; contact_frequency_per_30d: the same over the contact window, per 30 days;
-- last_contact_at: the latest of them.
-- marketing_contacts_30d: our sends (interaction_type 'send') in (D-30, D]; is_at_contact_cap when they
-- reach var contact_cap_per_30_days: customer_next_best_action then holds back sales and relationship
-- contact (service contact is not capped).
-- Consent: email_opt_in / sms_opt_in from the customer's latest CRM version (false without one).
-- is_unsubscribed: an `unsubscribe` event after that version (any unsubscribe when there is no CRM version)
-- revokes marketing by email and SMS alike. can_contact_email = opted in, not unsubscribed, not deleted
-- and a valid email; can_contact_sms likewise with a valid phone.

{%- set window_days = var('contact_window_days') | int %}

with

customers as (select * from {{ ref('dim_customers') }}),

golden_records as (select * from {{ ref('int_customers_golden_record') }}),

interactions as (select * from {{ ref('fct_interactions') }}),

channel_use as (
    select
        customer_id,
        channel,
        count(*) as interactions,
        max(interaction_at) as last_used_at
    from interactions
    where customer_id is not null
        and is_customer_initiated
        and interaction_type not in ('survey', 'unsubscribe')
        and interaction_date >= {{ days_after(as_of_date(), 1 - window_days) }}
    group by customer_id, channel
),

preferred as (
    select
        customer_id,
        channel as preferred_channel,
        row_number() over (
            partition by customer_id
            order by interactions desc, last_used_at desc, channel
        ) as preference_rank
    from channel_use
),

contacts as (
    select
        customer_id,
        sum(case when interaction_date >= {{ days_after(as_of_date(), -89) }} then 1 else 0 end) as contacts_90d,
        sum(
            case when interaction_date >= {{ days_after(as_of_date(), 1 - window_days) }} then 1 else 0 end
        ) as contacts_in_window,
        sum(
            case
                when interaction_type = 'send' and interaction_date >= {{ days_after(as_of_date(), -29) }}
                    then 1
                else 0
            end
        ) as marketing_contacts_30d,
        max(interaction_at) as last_contact_at
    from interactions
    where customer_id is not null
        and interaction_type <> 'order'
        and interaction_date <= {{ as_of_date() }}
    group by customer_id
),

unsubscribes as (
    select
        interactions.customer_id,
        max(interactions.interaction_at) as last_unsubscribed_at
    from interactions
    where interactions.interaction_type = 'unsubscribe'
        and interactions.customer_id is not null
    group by interactions.customer_id
),

consent as (
    select
        customers.customer_id,
        customers.email_opt_in,
        customers.sms_opt_in,
        customers.has_email,
        customers.has_phone,
        customers.is_deleted,
        unsubscribes.last_unsubscribed_at is not null
            and (
                golden_records.consent_updated_at is null
                or unsubscribes.last_unsubscribed_at > golden_records.consent_updated_at
            ) as is_unsubscribed
    from customers
    inner join golden_records
        on customers.customer_id = golden_records.customer_id
    left join unsubscribes
        on customers.customer_id = unsubscribes.customer_id
),

final as (
    select
        consent.customer_id,
        preferred.preferred_channel,
        cast(coalesce(contacts.contacts_90d, 0) as integer) as contacts_90d,
        cast(coalesce(contacts.contacts_in_window, 0) * 30.0 / {{ window_days }} as {{ type_double() }})
            as contact_frequency_per_30d,
        contacts.last_contact_at,
        cast(coalesce(contacts.marketing_contacts_30d, 0) as integer) as marketing_contacts_30d,
        coalesce(contacts.marketing_contacts_30d, 0) >= {{ var('contact_cap_per_30_days') | int }}
            as is_at_contact_cap,
        consent.email_opt_in,
        consent.sms_opt_in,
        consent.is_unsubscribed,
        consent.email_opt_in and consent.has_email and not consent.is_unsubscribed and not consent.is_deleted
            as can_contact_email,
        consent.sms_opt_in and consent.has_phone and not consent.is_unsubscribed and not consent.is_deleted
            as can_contact_sms,
        consent.has_phone and not consent.is_deleted as can_contact_phone_for_service
    from consent
    left join preferred
        on consent.customer_id = preferred.customer_id
        and preferred.preference_rank = 1
    left join contacts
        on consent.customer_id = contacts.customer_id
)

select * from final
