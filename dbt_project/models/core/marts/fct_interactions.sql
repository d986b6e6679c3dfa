{#- on_schema_change append_new_columns: the enforced contract already checks the columns (fct_order_lines) -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_keys',
        unique_key=['source_channel', 'source_record_id'],
        on_schema_change='append_new_columns',
        full_refresh=var('marts_full_rebuild', false) or none,
    )
}}

-- Every touchpoint between the company and a person up to the as-of date, one row each: orders, service
-- tickets, survey responses and marketing or social events, with the interaction_type mapping below.
--
-- interaction_type: order | ticket | survey | the marketing event type (send, open, click, visit,
-- social_mention, share, referral, review, unsubscribe). `referral_converted` is left out: it records the
-- referred friend's first order, an outcome credited to the referrer in customer_influence, not a contact.
-- channel: orders web | store; tickets their contact channel (phone, email, chat, social, store); surveys
-- 'survey'; marketing events their marketing channel (email, sms, social, web, push; 'unknown' when none).
-- is_customer_initiated: the person acted (order, ticket, survey answer, open, click, visit, social mention,
-- share, referral, review, unsubscribe); false for the company's sends.
--
-- Incremental: a daily build replaces the orders of int_orders_changed and the marketing events of
-- int_source_records_changed (the ones their own models recompute), and every ticket and survey answer (a
-- few percent of the rows, read from tables rebuilt in full each day); a key with no interaction any more
-- comes alone, which replace_keys deletes.

with

changed_orders as (select * from {{ ref('int_orders_changed') }}),

changed_events as (
    select source_record_id as event_id
    from {{ ref('int_source_records_changed') }}
    where source_channel = 'marketing'
),

orders as (
    {{ recomputed_rows(ref('fct_orders'), 'changed_orders', ['source_channel', 'order_id']) }}
),

tickets as (select * from {{ ref('fct_support_tickets') }}),

survey_responses as (select * from {{ ref('int_survey_responses_linked') }}),

marketing_events as (
    {{ recomputed_rows(ref('int_marketing_events_linked'), 'changed_events', ['event_id']) }}
),

order_interactions as (
    select
        {{ dbt.concat(["source_channel", "':'", "order_id"]) }} as interaction_id,
        customer_id,
        ordered_at as interaction_at,
        'order' as interaction_type,
        case when source_channel = 'pos' then 'store' else 'web' end as channel,
        source_channel,
        order_id as source_record_id,
        true as is_customer_initiated
    from orders
),

ticket_interactions as (
    select
        {{ dbt.concat(["'tickets:'", "ticket_id"]) }} as interaction_id,
        customer_id,
        opened_at as interaction_at,
        'ticket' as interaction_type,
        channel,
        'tickets' as source_channel,
        ticket_id as source_record_id,
        true as is_customer_initiated
    from tickets
),

survey_interactions as (
    select
        {{ dbt.concat(["'surveys:'", "response_id"]) }} as interaction_id,
        customer_id,
        submitted_at as interaction_at,
        'survey' as interaction_type,
        'survey' as channel,
        'surveys' as source_channel,
        response_id as source_record_id,
        true as is_customer_initiated
    from survey_responses
),

marketing_interactions as (
    select
        {{ dbt.concat(["'marketing:'", "event_id"]) }} as interaction_id,
        customer_id,
        event_at as interaction_at,
        event_type as interaction_type,
        coalesce(marketing_channel, 'unknown') as channel,
        'marketing' as source_channel,
        event_id as source_record_id,
        event_type <> 'send' as is_customer_initiated
    from marketing_events
    where event_type <> 'referral_converted'
),

unioned as (
    select * from order_interactions
    union all
    select * from ticket_interactions
    union all
    select * from survey_interactions
    union all
    select * from marketing_interactions
),

interactions as (
    select
        interaction_id,
        customer_id,
        interaction_at,
        cast(interaction_at as date) as interaction_date,
        interaction_type,
        channel,
        source_channel,
        source_record_id,
        is_customer_initiated
    from unioned
    where cast(interaction_at as date) <= {{ as_of_date() }}
),

{% if is_incremental() -%}
recomputed_keys as (
    select source_channel, order_id as source_record_id from changed_orders
    union
    select 'marketing' as source_channel, event_id as source_record_id from changed_events
    union
    select source_channel, source_record_id from ticket_interactions
    union
    select source_channel, source_record_id from survey_interactions
    union
    -- tickets and answers no longer there
    select source_channel, source_record_id
    from {{ this }}
    where source_channel in ('tickets', 'surveys')
),
{%- endif %}

final as (
    {%- if is_incremental() %}
    -- every recomputed key with its interaction, or alone when it has none any more
    {{ replace_keys_batch(
        'recomputed_keys', 'interactions',
        on=[('source_channel', 'source_channel'), ('source_record_id', 'source_record_id')],
        columns=['interaction_id', 'customer_id', 'interaction_at', 'interaction_date', 'interaction_type',
            'channel', 'is_customer_initiated'],
    ) }}
    {%- else %}
    select * from interactions
    {%- endif %}
)

select * from final
