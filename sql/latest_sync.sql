-- One row: the time the loaded data describes (`as_of`) and the figures of the latest sync.
-- `as_of` is the start of the latest sync in sync_log, or the latest `synced_at` of a run when
-- sync_log is empty, because a run changed after the sync started may not have been seen.
with

sync_log_rows as (
    select
        started_at,
        finished_at,
        runs_written,
        events_written,
        requests,
        duration_s
    from sync_log
),

latest_logged_sync as (
    select
        started_at,
        finished_at,
        runs_written,
        events_written,
        requests,
        duration_s
    from sync_log_rows
    order by started_at desc nulls last
    limit 1
),

run_sync_times as (
    select max(synced_at) as last_synced_at
    from runs
)

select
    coalesce(latest_logged_sync.started_at, run_sync_times.last_synced_at) as as_of,
    latest_logged_sync.started_at as sync_started_at,
    latest_logged_sync.finished_at as sync_finished_at,
    latest_logged_sync.runs_written,
    latest_logged_sync.events_written,
    latest_logged_sync.requests,
    latest_logged_sync.duration_s
from run_sync_times
left join latest_logged_sync on true
