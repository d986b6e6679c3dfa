-- One next-best action per customer of dim_customers as of the as-of date.
--
-- 1. Conditions: one boolean per action_code below, with the evidence behind it (`*_evidence`).
-- 2. Rules: the next_best_action_rules seed, highest rule_version of each rule_id; among the rules whose
--    condition holds, the lowest priority number wins (ties: rule_id). no_action always holds, so every
--    customer gets exactly one row.
-- 3. Channel (consent): the rule's preferred channel when allowed, else email, sms, phone in that order
--    when allowed, else 'none'. Allowed: email when customer_contact_profile.can_contact_email, sms when
--    can_contact_sms (opt-in, not unsubscribed, valid address, not deleted); phone only for service actions
--    (a call about the customer's own ticket is not marketing) and only with a valid phone; internal and
--    none actions never contact. Sales and relationship contact also waits while the customer is at the
--    contact cap (customer_contact_profile.is_at_contact_cap: var contact_cap_per_30_days of our sends in
--    30 days); service contact is not capped. An action that may contact but finds no allowed channel
--    keeps its code with contact_channel 'none', and `reason` says the customer is not to be contacted
--    and why.

{%- set recovery_days = var('service_recovery_days') | int %}
{%- set recent_days = var('satisfaction_recent_days') | int %}

with

customers as (select * from {{ ref('dim_customers') }}),

rules as (select * from {{ ref('next_best_action_rules') }}),

tickets as (select * from {{ ref('fct_support_tickets') }}),

service_summary as (select * from {{ ref('customer_service_summary') }}),

satisfaction as (select * from {{ ref('customer_satisfaction') }}),

lifecycle as (select * from {{ ref('customer_lifecycle') }}),

value_tiers as (select * from {{ ref('customer_value_tiers') }}),

customer_clv as (select * from {{ ref('customer_clv') }}),

customer_rfm as (select * from {{ ref('customer_rfm') }}),

influence as (select * from {{ ref('customer_influence') }}),

contact_profile as (select * from {{ ref('customer_contact_profile') }}),

category_breadth as (select * from {{ ref('customer_category_breadth') }}),

rules_in_force as (
    select *
    from (
        select
            *,
            row_number() over (partition by rule_id order by rule_version desc) as version_rank
        from rules
    ) as versions
    where version_rank = 1
),

recent_breaches as (
    select
        customer_id,
        ticket_id,
        sla_due_at,
        row_number() over (partition by customer_id order by sla_due_at desc, ticket_id) as breach_rank
    from tickets
    where customer_id is not null
        and is_sla_met = false
        and sla_due_at >= cast({{ days_after(as_of_date(), 1 - recovery_days) }} as timestamp)
        and sla_due_at < {{ end_of_day(as_of_date()) }}
),

open_complaints as (
    select
        customer_id,
        ticket_id,
        opened_at,
        row_number() over (partition by customer_id order by opened_at desc, ticket_id) as complaint_rank
    from tickets
    where customer_id is not null
        and is_complaint
        and not is_resolved
),

facts as (
    select
        customers.customer_id,
        recent_breaches.ticket_id as breach_ticket_id,
        recent_breaches.sla_due_at as breach_at,
        open_complaints.ticket_id as open_complaint_ticket_id,
        open_complaints.opened_at as open_complaint_opened_at,
        case
            when satisfaction.latest_csat_date >= {{ days_after(as_of_date(), 1 - recent_days) }}
                then satisfaction.latest_csat
        end as recent_csat,
        satisfaction.latest_csat_date,
        case
            when satisfaction.latest_nps_date >= {{ days_after(as_of_date(), 1 - recent_days) }}
                then satisfaction.nps_category
        end as recent_nps_category,
        satisfaction.latest_nps,
        satisfaction.latest_nps_date,
        lifecycle.lifecycle_stage,
        lifecycle.stage_reason,
        lifecycle.days_since_last_order,
        value_tiers.value_tier,
        value_tiers.is_gold,
        value_tiers.is_costly,
        value_tiers.costly_reason,
        customer_clv.predicted_clv_12m,
        customer_rfm.rfm_segment,
        influence.influence_score,
        influence.spend_percentile,
        influence.influence_percentile,
        influence.is_hidden_gem,
        influence.referrals_converted,
        influence.reviews,
        category_breadth.categories_bought as category_count,
        category_breadth.category_list,
        category_breadth.is_cross_sell_candidate,
        contact_profile.can_contact_email,
        contact_profile.can_contact_sms,
        contact_profile.can_contact_phone_for_service,
        contact_profile.is_unsubscribed,
        contact_profile.is_at_contact_cap,
        contact_profile.marketing_contacts_30d
    from customers
    left join recent_breaches
        on customers.customer_id = recent_breaches.customer_id
        and recent_breaches.breach_rank = 1
    left join open_complaints
        on customers.customer_id = open_complaints.customer_id
        and open_complaints.complaint_rank = 1
    left join satisfaction
        on customers.customer_id = satisfaction.customer_id
    inner join lifecycle
        on customers.customer_id = lifecycle.customer_id
    inner join value_tiers
        on customers.customer_id = value_tiers.customer_id
    inner join customer_clv
        on customers.customer_id = customer_clv.customer_id
    left join customer_rfm
        on customers.customer_id = customer_rfm.customer_id
    inner join influence
        on customers.customer_id = influence.customer_id
    inner join category_breadth
        on customers.customer_id = category_breadth.customer_id
    inner join contact_profile
        on customers.customer_id = contact_profile.customer_id
),

conditions as (
    select
        *,
        breach_ticket_id is not null
            or open_complaint_ticket_id is not null
            or recent_csat <= {{ var('low_csat_max_score') | int }}
            or recent_nps_category = 'detractor' as matches_service_recovery,
        lifecycle_stage in ('at_risk', 'lapsed') and (value_tier = 'A' or is_gold) as matches_win_back,
        coalesce(rfm_segment = 'Champions', false) or is_gold as matches_vip_care,
        is_hidden_gem as matches_engage_advocate,
        is_cross_sell_candidate and lifecycle_stage <> 'lapsed' as matches_cross_sell,
        lifecycle_stage = 'first_purchase' or coalesce(rfm_segment = 'New', false) as matches_nurture_new,
        is_costly and value_tier = 'C' as matches_reduce_cost,
        true as matches_no_action
    from facts
),

evidence as (
    select
        *,
        concat_ws(
            '; ',
            case when breach_ticket_id is not null then {{ dbt.concat([
                "'SLA breached on ticket '", "breach_ticket_id", "' on '", as_text('cast(breach_at as date)'),
            ]) }} end,
            case when open_complaint_ticket_id is not null then {{ dbt.concat([
                "'open complaint '", "open_complaint_ticket_id", "' since '",
                as_text('cast(open_complaint_opened_at as date)'),
            ]) }} end,
            case when recent_csat <= {{ var('low_csat_max_score') | int }} then {{ dbt.concat([
                "'CSAT '", as_text('recent_csat'), "' on '", as_text('latest_csat_date'),
            ]) }} end,
            case when recent_nps_category = 'detractor' then {{ dbt.concat([
                "'NPS '", as_text('latest_nps'), "' (detractor) on '", as_text('latest_nps_date'),
            ]) }} end
        ) as service_recovery_evidence,
        {{ dbt.concat([
            "'lifecycle '", "lifecycle_stage", "': '", "stage_reason", "'; value tier '", "value_tier",
            "case when is_gold then ', gold' else '' end",
        ]) }} as win_back_evidence,
        concat_ws(
            '; ',
            case when rfm_segment = 'Champions' then 'RFM segment Champions' end,
            case when is_gold then {{ dbt.concat([
                "'gold: predicted 12-month CLV '", amount_text('predicted_clv_12m'),
            ]) }} end
        ) as vip_care_evidence,
        {{ dbt.concat([
            "'influence score '", amount_text('influence_score', 1), "' (percentile '",
            amount_text('influence_percentile'), "') at spend percentile '",
            amount_text('spend_percentile'), "': '", as_text('referrals_converted'), "' converted referrals, '",
            as_text('reviews'), "' reviews'",
        ]) }} as engage_advocate_evidence,
        {{ dbt.concat([
            "'bought from '", as_text('category_count'),
            "case when category_count = 1 then ' category' else ' categories' end",
            "' in the last " ~ var('rfm_window_days') ~ " days: '", "coalesce(category_list, '')",
        ]) }} as cross_sell_evidence,
        concat_ws(
            '; ',
            case when lifecycle_stage = 'first_purchase' then {{ dbt.concat([
                "'first purchase: '", "stage_reason",
            ]) }} end,
            case when rfm_segment = 'New' then 'RFM segment New' end
        ) as nurture_new_evidence,
        {{ dbt.concat(["'value tier C and costly: '", "coalesce(costly_reason, '')"]) }} as reduce_cost_evidence,
        'no rule matched' as no_action_evidence
    from conditions
),

candidates as (
    select
        evidence.*,
        rules_in_force.rule_id,
        rules_in_force.rule_version,
        rules_in_force.priority,
        rules_in_force.action_code,
        rules_in_force.action_name,
        rules_in_force.action_kind,
        rules_in_force.preferred_channel,
        case rules_in_force.action_code
            {%- for code in next_best_action_conditions() %}
            when '{{ code }}' then evidence.matches_{{ code }}
            {%- endfor %}
            else false
        end as is_match,
        case rules_in_force.action_code
            {%- for code in next_best_action_conditions() %}
            when '{{ code }}' then evidence.{{ code }}_evidence
            {%- endfor %}
        end as evidence_text
    from evidence
    cross join rules_in_force
),

chosen as (
    select
        *,
        row_number() over (partition by customer_id order by priority, rule_id) as choice_rank
    from candidates
    where is_match
),

channels as (
    select
        *,
        action_kind in ('service', 'sales', 'relationship') as may_contact,
        action_kind in ('sales', 'relationship') and is_at_contact_cap as is_held_by_cap,
        case
            when action_kind not in ('service', 'sales', 'relationship') then 'none'
            when action_kind in ('sales', 'relationship') and is_at_contact_cap then 'none'
            when preferred_channel = 'email' and can_contact_email then 'email'
            when preferred_channel = 'sms' and can_contact_sms then 'sms'
            when preferred_channel = 'phone' and action_kind = 'service' and can_contact_phone_for_service
                then 'phone'
            when can_contact_email then 'email'
            when can_contact_sms then 'sms'
            when action_kind = 'service' and can_contact_phone_for_service then 'phone'
            else 'none'
        end as contact_channel
    from chosen
    where choice_rank = 1
),

final as (
    select
        customer_id,
        {{ as_of_date() }} as as_of_date,
        action_code,
        action_name,
        case
            when is_held_by_cap then {{ dbt.concat([
                "evidence_text", "'; not contacted now: '", as_text('marketing_contacts_30d'),
                "' marketing contacts in the last 30 days reach the cap of " ~ var('contact_cap_per_30_days') ~ "'",
            ]) }}
            when may_contact and contact_channel = 'none' then {{ dbt.concat([
                "evidence_text",
                "case when is_unsubscribed then '; not contacted: the customer unsubscribed' "
                ~ "else '; not contacted: no channel with consent and a valid address' end",
            ]) }}
            else evidence_text
        end as reason,
        cast(priority as integer) as priority,
        contact_channel,
        rule_id,
        cast(rule_version as integer) as rule_version
    from channels
)

select * from final
