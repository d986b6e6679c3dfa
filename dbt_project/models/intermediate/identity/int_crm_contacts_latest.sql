-- The latest version of each CRM contact written on or before the as-of date.
with

contacts as (select * from {{ ref('stg_crm__contacts') }}),

versions_until_as_of_date as (
    select
        *,
        row_number() over (
            partition by contact_id
            order by updated_at desc, _load_date desc, _source_file desc, _source_line desc
        ) as version_rank,
        count(*) over (partition by contact_id) as version_count
    from contacts
    where cast(updated_at as date) <= {{ as_of_date() }}
),

final as (
    select
        contact_id,
        updated_at,
        created_at,
        source_timezone,
        account_id,
        loyalty_id,
        first_name,
        last_name,
        full_name,
        email,
        phone,
        birth_date,
        gender,
        street,
        postal_code,
        city,
        country_code,
        preferred_language,
        email_opt_in,
        sms_opt_in,
        is_deleted,
        version_count
    from versions_until_as_of_date
    where version_rank = 1
)

select * from final
