-- Households: customers that the identity stage kept apart although they share an email or phone (a family
-- phone, a shared mailbox), because their names and birth dates say they are different people
-- (customer360.identity.households). Customers linked through shared identifiers, also through one another,
-- form one household; its id is stable while its earliest customer id stays in it.

with recursive

household_keys as (select * from {{ source('identity', 'household_keys') }}),

identity_records as (select * from {{ source('identity', 'customer_source_xref') }}),

customer_keys as (
    select distinct
        identity_records.customer_id,
        household_keys.identifier_type,
        household_keys.identifier
    from household_keys
    inner join identity_records
        on household_keys.source_channel = identity_records.source_channel
        and household_keys.source_record_id = identity_records.source_record_id
),

shared_keys as (
    -- identifiers that more than one customer holds
    select identifier_type, identifier
    from customer_keys
    group by identifier_type, identifier
    having count(distinct customer_id) > 1
),

member_keys as (
    select customer_keys.*
    from customer_keys
    inner join shared_keys
        on customer_keys.identifier_type = shared_keys.identifier_type
        and customer_keys.identifier = shared_keys.identifier
),

links as (
    select distinct
        member_keys.customer_id as from_customer_id,
        other_keys.customer_id as to_customer_id
    from member_keys
    inner join member_keys as other_keys
        on member_keys.identifier_type = other_keys.identifier_type
        and member_keys.identifier = other_keys.identifier
        and member_keys.customer_id <> other_keys.customer_id
),

{{ household_components() }},

household_identifiers as (
    select
        households.first_customer_id,
        count(distinct {{ dbt.concat(["member_keys.identifier_type", "':'", "member_keys.identifier"]) }})
            as shared_identifiers,
        count(distinct case when member_keys.identifier_type = 'email' then member_keys.identifier end)
            as shared_emails,
        count(distinct case when member_keys.identifier_type = 'phone' then member_keys.identifier end)
            as shared_phones
    from member_keys
    inner join households on member_keys.customer_id = households.customer_id
    group by households.first_customer_id
),

household_sizes as (
    select first_customer_id, count(*) as household_members
    from households
    group by first_customer_id
),

final as (
    select
        cast({{ dbt.concat(["'H'", "left(md5(households.first_customer_id), 12)"]) }} as {{ dbt.type_string() }})
            as household_id,
        cast(households.customer_id as {{ dbt.type_string() }}) as customer_id,
        cast(household_sizes.household_members as {{ dbt.type_bigint() }}) as household_members,
        cast(household_identifiers.shared_identifiers as {{ dbt.type_bigint() }}) as shared_identifiers,
        cast(household_identifiers.shared_emails as {{ dbt.type_bigint() }}) as shared_emails,
        cast(household_identifiers.shared_phones as {{ dbt.type_bigint() }}) as shared_phones
    from households
    inner join household_sizes on households.first_customer_id = household_sizes.first_customer_id
    inner join household_identifiers on households.first_customer_id = household_identifiers.first_customer_id
)

select * from final
