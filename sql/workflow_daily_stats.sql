-- One row per workflow name and UTC day of the runs' start time: run counts by status,
-- success rate and duration percentiles.
with

enriched_runs as (
    select
        workflow_name,
        start_day,
        status,
        is_final,
        is_success,
        duration_s
    from runs_enriched
)

select
    workflow_name,
    start_day,
    count(*) as runs,
    count(*) filter (where status = 'COMPLETED') as count_completed,
    count(*) filter (where status = 'FAILED') as count_failed,
    count(*) filter (where status = 'CANCELED') as count_canceled,
    count(*) filter (where status = 'TERMINATED') as count_terminated,
    count(*) filter (where status = 'TIMED_OUT') as count_timed_out,
    count(*) filter (where status = 'CONTINUED_AS_NEW') as count_continued_as_new,
    count(*) filter (where not is_final) as count_running,
    avg(cast(is_success as integer)) as success_rate,
    percentile_cont(0.5) within group (order by duration_s) as p50_duration_s,
    percentile_cont(0.95) within group (order by duration_s) as p95_duration_s
from enriched_runs
group by workflow_name, start_day
