-- One row per workflow name over every loaded run: run counts by status, success rate and
-- duration percentiles (the all-time counterpart of workflow_daily_stats).
with

enriched_runs as (
    select
        workflow_name,
        start_time,
        status,
        is_final,
        is_success,
        duration_s
    from runs_enriched
)

select
    workflow_name,
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
    percentile_cont(0.95) within group (order by duration_s) as p95_duration_s,
    min(start_time) as first_start_time,
    max(start_time) as last_start_time
from enriched_runs
group by workflow_name
