-- Each customer's reach and advocacy over the last var influence_window_days days (marketing and social
-- events attributed to them), and whether they are a hidden gem: influential but spending little.
--
-- influence_score (0-100) = 100 x sum over components of weight x min(1, ln(1 + count) / ln(1 + cap)),
-- components and (weight, cap) from var influence_components (defaults: referrals_converted 0.30/3,
-- referrals_made 0.15/5, reviews 0.15/5, followers 0.20/5000, shares 0.10/10, social_mentions 0.10/10).
-- The log scale makes the first referral count more than the tenth; the cap stops one component (a
-- celebrity's follower count) from carrying the score alone.
-- spend_percentile: percent_rank (0 = lowest, 1 = highest) of net revenue in the RFM window among the
-- customers who bought in it; customers without revenue at 0 (they spent less than every buyer); ties
-- share a rank.
-- influence_percentile: percent_rank of influence_score among all customers of dim_customers.
-- is_hidden_gem: spend_percentile <= var hidden_gem_max_spend_percentile and influence_percentile >=
-- var hidden_gem_min_influence_percentile, with some influence (influence_score > 0).

{%- set components = var('influence_components') %}
{%- set window_days = var('influence_window_days') | int %}

with

customers as (select * from {{ ref('dim_customers') }}),

events as (select * from {{ ref('int_marketing_events_linked') }}),

customer_rfm as (select * from {{ ref('customer_rfm') }}),

activity as (
    select
        customer_id,
        sum(case when event_type = 'referral' then 1 else 0 end) as referrals_made,
        sum(case when event_type = 'referral_converted' then 1 else 0 end) as referrals_converted,
        sum(case when event_type = 'review' then 1 else 0 end) as reviews,
        {{ exact_avg("case when event_type = 'review' then rating end") }} as avg_review_rating,
        max(followers) as followers,
        sum(case when event_type = 'share' then 1 else 0 end) as shares,
        sum(case when event_type = 'social_mention' then 1 else 0 end) as social_mentions
    from events
    where customer_id is not null
        and event_date >= {{ days_after(as_of_date(), 1 - window_days) }}
    group by customer_id
),

counted as (
    select
        customers.customer_id,
        cast(coalesce(activity.referrals_made, 0) as integer) as referrals_made,
        cast(coalesce(activity.referrals_converted, 0) as integer) as referrals_converted,
        cast(coalesce(activity.reviews, 0) as integer) as reviews,
        activity.avg_review_rating,
        cast(coalesce(activity.followers, 0) as bigint) as followers,
        cast(coalesce(activity.shares, 0) as integer) as shares,
        cast(coalesce(activity.social_mentions, 0) as integer) as social_mentions,
        coalesce(customer_rfm.monetary, 0) as window_net_revenue,
        coalesce(customer_rfm.monetary, 0) > 0 as is_buyer
    from customers
    left join activity
        on customers.customer_id = activity.customer_id
    left join customer_rfm
        on customers.customer_id = customer_rfm.customer_id
),

scored as (
    select
        *,
        100.0 * (
            {%- for name, component in components.items() %}
            {{ component['weight'] }} * least(
                1.0, ln(1.0 + {{ name }}) / ln(1.0 + {{ component['cap'] }})
            ){{ ' +' if not loop.last }}
            {%- endfor %}
        ) as influence_score,
        case
            when is_buyer then percent_rank() over (partition by is_buyer order by window_net_revenue)
            else 0
        end as spend_percentile
    from counted
),

-- ranked on the score as published (one decimal), so customers shown with equal scores rank equally
ranked as (
    select
        *,
        round(cast(influence_score as {{ type_numeric() }}), 1) as rounded_influence_score,
        percent_rank() over (order by round(cast(influence_score as {{ type_numeric() }}), 1)) as influence_percentile
    from scored
),

final as (
    select
        customer_id,
        referrals_made,
        referrals_converted,
        reviews,
        avg_review_rating,
        followers,
        shares,
        social_mentions,
        cast(rounded_influence_score as {{ type_double() }}) as influence_score,
        cast(influence_percentile as {{ type_double() }}) as influence_percentile,
        cast(spend_percentile as {{ type_double() }}) as spend_percentile,
        cast(spend_percentile as {{ type_double() }}) <= {{ var('hidden_gem_max_spend_percentile') }}
            and cast(influence_percentile as {{ type_double() }}) >= {{ var('hidden_gem_min_influence_percentile') }}
            and rounded_influence_score > 0
            as is_hidden_gem
    from ranked
)

select * from final
