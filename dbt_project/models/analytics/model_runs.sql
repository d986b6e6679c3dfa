-- The run's model runs (analytics.model_runs, written by customer360.model_runs): one row per model for the
-- as-of date, with the version it scored with, whether it was fitted, reused, skipped or failed, and why.

with

model_runs as (select * from {{ source('analytics', 'model_runs') }}),

final as (
    select
        model,
        as_of_date,
        run_id,
        version,
        status,
        reason,
        refit_date,
        training_window_start,
        training_window_end,
        data_fingerprint,
        cast(metrics as {{ type_text() }}) as metrics
    from model_runs
    where as_of_date = {{ as_of_date() }}
)

select * from final
