-- The CLV models' calibration/holdout check at their refit date (analytics.clv_validation, written by
-- customer360.clv.validation): predicted vs actual repeat purchases in the holdout by calibration frequency,
-- the cumulative repeat purchases over the holdout, and the total with its relative error.

with

validation as (select * from {{ source('analytics', 'clv_validation') }}),

final as (
    select
        curve,
        x_value,
        x_label,
        as_of_date,
        model_version,
        refit_date,
        calibration_end,
        holdout_end,
        n_customers,
        cast(actual as {{ type_double() }}) as actual_repeat_purchases,
        cast(predicted as {{ type_double() }}) as predicted_repeat_purchases,
        cast(relative_error as {{ type_double() }}) as relative_error
    from validation
    where as_of_date = {{ as_of_date() }}
)

select * from final
