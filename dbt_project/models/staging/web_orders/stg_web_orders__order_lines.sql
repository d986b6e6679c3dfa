{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='order_id',
        on_schema_change='fail',
    )
}}

-- A web order is delivered whole (one JSON line lists all its lines): its latest version replaces all of
-- its lines, so a line that a later version no longer lists is dropped (delivered_records' version_of), and
-- an incremental build recomputes whole orders (unique_key order_id).

{% set channel_timezone = source_timezone("web_orders") %}

with

country_codes as (select * from {{ ref('country_codes') }}),

delivered as (
    {{ delivered_records(
        source('web_orders', 'web_orders'),
        ['order_id', 'line_number'],
        latest_version=to_utc_timestamp('updated_at', channel_timezone),
        version_of=['order_id'],
    ) }}
),

renamed as (
    select
        {{ dbt.concat(["trim(delivered.order_id)", "'-'", "trim(delivered.line_number)"]) }} as order_line_id,
        {{ clean_text('delivered.order_id') }} as order_id,
        {{ parse_integer('delivered.line_number') }} as line_number,

        -- order-level fields, repeated on each line
        {{ to_utc_timestamp('delivered.ordered_at', channel_timezone) }} as ordered_at,
        {{ to_utc_timestamp('delivered.updated_at', channel_timezone) }} as updated_at,
        '{{ channel_timezone }}' as source_timezone,
        lower({{ clean_text('delivered.status') }}) as order_status,
        coalesce(upper({{ clean_text('delivered.currency') }}), '{{ var('default_currency') }}') as currency,
        {{ clean_text('delivered.customer__account_id') }} as account_id,
        {{ clean_email('delivered.customer__email') }} as customer_email,
        {{ clean_text('delivered.customer__phone') }} as customer_phone,
        {{ clean_text('delivered.customer__first_name') }} as customer_first_name,
        {{ clean_text('delivered.customer__last_name') }} as customer_last_name,
        {{ clean_text('delivered.shipping__street') }} as shipping_street,
        {{ clean_text('delivered.shipping__postal_code') }} as shipping_postal_code,
        {{ clean_text('delivered.shipping__city') }} as shipping_city,
        {{ country_code('delivered.shipping__country', 'country_codes') }} as shipping_country_code,
        {{ parse_decimal('delivered.shipping_amount') }} as shipping_amount,

        -- line fields
        {{ clean_text('delivered.sku') }} as sku,
        lower({{ clean_text('delivered.category') }}) as category,
        {{ parse_integer('delivered.quantity') }} as quantity,
        {{ parse_decimal('delivered.unit_price') }} as unit_price,
        {{ parse_decimal('delivered.unit_cost') }} as unit_cost,
        {{ parse_decimal('delivered.discount_amount') }} as discount_amount,
        {{ parse_integer('delivered.returned_quantity') }} as returned_quantity,

        {{ lineage_columns('delivered') }}
    from delivered
    left join country_codes
        on lower(trim(delivered.shipping__country)) = country_codes.country_name
),

final as (select * from renamed)

select * from final
