{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='transaction_line_id',
        on_schema_change='fail',
    )
}}

{%- set channel_timezone = source_timezone('pos_transactions') -%}

with

delivered as (
    {{ delivered_records(source('pos_transactions', 'pos_transactions'), ['transaction_id', 'line_number']) }}
),

renamed as (
    select
        {{ dbt.concat(["trim(transaction_id)", "'-'", "trim(line_number)"]) }} as transaction_line_id,
        {{ clean_text('transaction_id') }} as transaction_id,
        {{ parse_integer('line_number') }} as line_number,
        {{ clean_text('store_id') }} as store_id,
        {{ to_utc_timestamp('transacted_at', channel_timezone) }} as transacted_at,
        '{{ channel_timezone }}' as source_timezone,
        lower({{ clean_text('transaction_type') }}) as transaction_type,
        {{ clean_text('sku') }} as sku,
        lower({{ clean_text('category') }}) as category,
        {{ parse_integer('quantity') }} as quantity,
        {{ parse_decimal('unit_price') }} as unit_price,
        {{ parse_decimal('unit_cost') }} as unit_cost,
        {{ parse_decimal('discount_amount') }} as discount_amount,
        {{ clean_text('loyalty_id') }} as loyalty_id,
        {{ clean_email('customer_email') }} as customer_email,
        {{ clean_text('customer_phone') }} as customer_phone,
        {{ clean_text('original_transaction_id') }} as original_transaction_id,
        lower({{ clean_text('payment_method') }}) as payment_method,
        {{ lineage_columns() }}
    from delivered
),

final as (select * from renamed)

select * from final
