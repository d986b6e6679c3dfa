with

customer_source_xref as (select * from {{ ref('int_source_record_customers') }}),

final as (
    select
        customer_id,
        source_channel,
        source_record_id,
        match_rule,
        cast(match_score as double precision) as match_score
    from customer_source_xref
)

select * from final
