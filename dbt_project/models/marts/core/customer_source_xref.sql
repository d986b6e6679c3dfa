with

customer_source_xref as (select * from {{ source('identity', 'customer_source_xref') }}),

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
