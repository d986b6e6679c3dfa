-- One row per resolved customer: the attributes audiences filter on (config/audiences.yml) and the consent
-- flags activation checks again at send time, gathered from the published marts under one pseudonymous key.
--
-- The activation stage (customer360.activation) applies each audience's structured filter to this mart in
-- the published snapshot; it never joins marts itself, so an audience can only name a column listed here.
-- Customers without an RFM score or a churn score (no completed order) keep nulls there.

with

customers as (select * from {{ ref('dim_customers') }}),

rfm as (select * from {{ ref('customer_rfm') }}),

value_tiers as (select * from {{ ref('customer_value_tiers') }}),

lifecycle as (select * from {{ ref('customer_lifecycle') }}),

churn_risk as (select * from {{ ref('customer_churn_risk') }}),

next_best_action as (select * from {{ ref('customer_next_best_action') }}),

contact_profile as (select * from {{ ref('customer_contact_profile') }}),

attributes as (
    select
        customers.customer_id,
        customers.customer_key,
        {{ as_of_date() }} as as_of_date,
        customers.country_code,
        customers.preferred_language,
        rfm.rfm_segment,
        value_tiers.value_tier,
        value_tiers.is_gold,
        value_tiers.predicted_clv_12m,
        lifecycle.lifecycle_stage,
        churn_risk.churn_band,
        churn_risk.churn_score,
        next_best_action.action_code,
        next_best_action.contact_channel,
        contact_profile.preferred_channel,
        contact_profile.can_contact_email,
        contact_profile.can_contact_sms,
        contact_profile.is_unsubscribed,
        contact_profile.is_at_contact_cap,
        contact_profile.marketing_contacts_30d,
        coalesce(customers.is_deleted, false) as is_deleted
    from customers
    left join rfm
        on customers.customer_id = rfm.customer_id
    inner join value_tiers
        on customers.customer_id = value_tiers.customer_id
    inner join lifecycle
        on customers.customer_id = lifecycle.customer_id
    left join churn_risk
        on customers.customer_id = churn_risk.customer_id
    inner join next_best_action
        on customers.customer_id = next_best_action.customer_id
    inner join contact_profile
        on customers.customer_id = contact_profile.customer_id
),

final as (select * from attributes)

select * from final
