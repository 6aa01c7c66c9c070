-- One row per run that is not final (RUNNING, RETRYING_AFTER_ERROR, a NULL or an unknown status):
-- its age and its silence at the time of the latest sync, and whether it looks stuck.
with

enriched_runs as (
    select
        run_id,
        execution_id,
        workflow_name,
        status,
        start_time,
        event_count,
        last_event_time,
        last_event_type,
        is_final
    from runs_enriched
),

settings as (
    select stuck_after_s
    from analytics_settings
),

sync_time as (
    select as_of
    from latest_sync
),

open_enriched_runs as (
    select
        run_id,
        execution_id,
        workflow_name,
        status,
        start_time,
        event_count,
        last_event_time,
        last_event_type
    from enriched_runs
    where not is_final
),

run_ages as (
    select
        open_enriched_runs.run_id,
        sync_time.as_of,
        (epoch_us(sync_time.as_of) - epoch_us(open_enriched_runs.start_time)) // 1000 / 1000.0 as age_s,
        (epoch_us(sync_time.as_of) - epoch_us(open_enriched_runs.last_event_time)) // 1000 / 1000.0
            as since_last_event_s
    from open_enriched_runs
    cross join sync_time
)

select
    open_enriched_runs.run_id,
    open_enriched_runs.execution_id,
    open_enriched_runs.workflow_name,
    open_enriched_runs.status,
    open_enriched_runs.start_time,
    run_ages.as_of,
    run_ages.age_s,
    open_enriched_runs.event_count,
    open_enriched_runs.last_event_time,
    run_ages.since_last_event_s,
    open_enriched_runs.last_event_type,
    run_ages.since_last_event_s > settings.stuck_after_s as is_stuck
from open_enriched_runs
inner join run_ages on run_ages.run_id = open_enriched_runs.run_id
cross join settings
