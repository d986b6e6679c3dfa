-- How complete each customer's profile is on the as-of date, and how it grew over the last 90 days, from
-- the source records that make up the customer (int_contact_records through int_source_record_customers):
-- a fact is known from the first record that carried it (observed_at). Eight facts: email, phone, name,
-- birth date, postal address (street and postal code), city, country and loyalty membership.
-- facts_gained_90d: facts first known in (D-90, D]; own_contacts_90d: the customer's own interactions
-- (orders included: an order is a contact) in the same days; facts_per_contact_90d the ratio.

{%- set facts = [
    ('email', 'email is not null'),
    ('phone', 'phone is not null'),
    ('name', 'coalesce(full_name, first_name, last_name) is not null'),
    ('birth_date', 'birth_date is not null'),
    ('address', 'street is not null and postal_code is not null'),
    ('city', 'city is not null'),
    ('country', 'country_code is not null'),
    ('loyalty_id', 'loyalty_id is not null'),
] %}
{%- set window_start = days_after(as_of_date(), -89) %}

with

customers as (select * from {{ ref('dim_customers') }}),

contact_records as (select * from {{ ref('int_contact_records') }}),

record_customers as (select * from {{ ref('int_source_record_customers') }}),

interactions as (select * from {{ ref('fct_interactions') }}),

customer_records as (
    select
        record_customers.customer_id,
        cast(contact_records.observed_at as date) as observed_date,
        contact_records.*
    from contact_records
    inner join record_customers
        on contact_records.source_channel = record_customers.source_channel
        and contact_records.source_record_id = record_customers.source_record_id
    where record_customers.customer_id is not null
        and contact_records.observed_at < {{ end_of_day(as_of_date()) }}
),

first_known as (
    select
        customer_id,
        {%- for name, condition in facts %}
        min(case when {{ condition }} then observed_date end) as {{ name }}_known_on{{ ',' if not loop.last }}
        {%- endfor %}
    from customer_records
    group by customer_id
),

own_contacts as (
    select
        customer_id,
        count(*) as own_contacts_90d
    from interactions
    where customer_id is not null
        and is_customer_initiated
        and interaction_date >= {{ window_start }}
        and interaction_date <= {{ as_of_date() }}
    group by customer_id
),

counted as (
    select
        customers.customer_id,
        {%- for name, condition in facts %}
        case when first_known.{{ name }}_known_on is not null then 1 else 0 end{{ ' +' if not loop.last }}
        {%- endfor %}
            as facts_known,
        {%- for name, condition in facts %}
        case when first_known.{{ name }}_known_on < {{ window_start }} then 1 else 0 end{{ ' +' if not loop.last }}
        {%- endfor %}
            as facts_known_before_90d,
        concat_ws(
            ', '
            {%- for name, condition in facts %},
            case when first_known.{{ name }}_known_on is null then '{{ name }}' end
            {%- endfor %}
        ) as missing_facts,
        coalesce(own_contacts.own_contacts_90d, 0) as own_contacts_90d
    from customers
    left join first_known
        on customers.customer_id = first_known.customer_id
    left join own_contacts
        on customers.customer_id = own_contacts.customer_id
),

final as (
    select
        customer_id,
        {{ as_of_date() }} as as_of_date,
        cast(facts_known as integer) as facts_known,
        {{ facts | length }} as facts_total,
        cast(facts_known as {{ type_double() }}) / {{ facts | length }} as completeness,
        cast(facts_known - facts_known_before_90d as integer) as facts_gained_90d,
        cast(own_contacts_90d as integer) as own_contacts_90d,
        cast(facts_known - facts_known_before_90d as {{ type_double() }}) / nullif(own_contacts_90d, 0)
            as facts_per_contact_90d,
        nullif(missing_facts, '') as missing_facts
    from counted
)

select * from final
