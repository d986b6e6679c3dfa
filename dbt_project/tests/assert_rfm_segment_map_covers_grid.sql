-- The segment map must hold every (r_score, fm_score) cell of the 5 x 5 grid: a missing cell would leave
-- customers without a segment. Returns the missing cells.
with

scores as (
    select 1 as score union all select 2 union all select 3 union all select 4 union all select 5
),

grid as (
    select
        r.score as r_score,
        fm.score as fm_score
    from scores as r
    cross join scores as fm
),

segment_map as (select * from {{ ref('rfm_segment_map') }}),

missing as (
    select grid.r_score, grid.fm_score
    from grid
    left join segment_map
        on grid.r_score = segment_map.r_score
        and grid.fm_score = segment_map.fm_score
    where segment_map.rfm_segment is null
)

select * from missing
