-- Each customer's service history as of the as-of date, from the tickets' latest versions. Every customer
-- of dim_customers has a row (zeros when they never contacted the service desk). The 90-day window is
-- (as_of_date - 90, as_of_date], by the day a ticket was opened; complaints_12m counts the last 365 days.
{%- set window_start = days_after(as_of_date(), -89) %}
{%- set year_start = days_after(as_of_date(), -364) %}

with

customers as (select * from {{ ref('dim_customers') }}),

tickets as (select * from {{ ref('fct_support_tickets') }}),

per_customer as (
    select
        customer_id,
        sum(case when is_complaint and not is_resolved then 1 else 0 end) as open_complaints,
        sum(
            case when is_complaint and cast(opened_at as date) >= {{ window_start }} then 1 else 0 end
        ) as complaints_90d,
        sum(
            case when is_complaint and cast(opened_at as date) >= {{ year_start }} then 1 else 0 end
        ) as complaints_12m,
        sum(case when cast(opened_at as date) >= {{ window_start }} then 1 else 0 end) as tickets_90d,
        -- a breach happens when the SLA runs out unresolved: at sla_due_at
        max(case when is_sla_met = false then sla_due_at end) as last_sla_breach_at,
        {{ exact_avg('case when is_resolved then satisfaction_score end') }}
            as avg_satisfaction_after_resolution
    from tickets
    where customer_id is not null
    group by customer_id
),

final as (
    select
        customers.customer_id,
        cast(coalesce(per_customer.open_complaints, 0) as integer) as open_complaints,
        cast(coalesce(per_customer.complaints_90d, 0) as integer) as complaints_90d,
        cast(coalesce(per_customer.complaints_12m, 0) as integer) as complaints_12m,
        cast(coalesce(per_customer.tickets_90d, 0) as integer) as tickets_90d,
        per_customer.last_sla_breach_at,
        per_customer.avg_satisfaction_after_resolution
    from customers
    left join per_customer
        on customers.customer_id = per_customer.customer_id
)

select * from final
