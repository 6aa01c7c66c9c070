-- One row per run: the loaded run, its duration and outcome flags, its place in the execution
-- tree, and a summary of its history events (zero events when its history was not loaded).
with

loaded_runs as (
    select
        run_id,
        execution_id,
        workflow_name,
        workflow_id,
        root_execution_id,
        parent_execution_id,
        status,
        start_time,
        end_time,
        total_duration_ms,
        deployment_name,
        user_id,
        result,
        search_keys,
        synced_at
    from runs
),

history_events as (
    select
        run_id,
        event_id,
        event_time,
        event_type
    from run_events
),

run_outcomes as (
    select
        run_id,
        coalesce(
            status in ('COMPLETED', 'FAILED', 'CANCELED', 'TERMINATED', 'CONTINUED_AS_NEW', 'TIMED_OUT'),
            false
        ) as is_final,
        coalesce(status in ('FAILED', 'TIMED_OUT', 'TERMINATED'), false) as is_failure
    from loaded_runs
),

event_totals as (
    select
        run_id,
        count(*) as event_count,
        max(event_time) as last_event_time
    from history_events
    group by run_id
),

numbered_events as (
    select
        run_id,
        event_type,
        row_number() over (partition by run_id order by event_id desc) as position_from_end
    from history_events
),

numbered_closing_events as (
    select
        run_id,
        event_id,
        event_type,
        row_number() over (partition by run_id order by event_id desc) as position_from_end
    from history_events
    where event_type in (
        'WORKFLOW_EXECUTION_COMPLETED',
        'WORKFLOW_EXECUTION_FAILED',
        'WORKFLOW_EXECUTION_CANCELED',
        'WORKFLOW_EXECUTION_TERMINATED',
        'WORKFLOW_EXECUTION_TIMED_OUT',
        'WORKFLOW_EXECUTION_CONTINUED_AS_NEW'
    )
),

last_events as (
    select
        run_id,
        event_type as last_event_type
    from numbered_events
    where position_from_end = 1
),

closing_events as (
    select
        run_id,
        event_id as closing_event_id,
        event_type as closing_event_type
    from numbered_closing_events
    where position_from_end = 1
)

select
    loaded_runs.run_id,
    loaded_runs.execution_id,
    loaded_runs.workflow_name,
    loaded_runs.workflow_id,
    loaded_runs.root_execution_id,
    loaded_runs.parent_execution_id,
    loaded_runs.status,
    loaded_runs.start_time,
    loaded_runs.end_time,
    loaded_runs.total_duration_ms,
    loaded_runs.deployment_name,
    loaded_runs.user_id,
    loaded_runs.result,
    loaded_runs.search_keys,
    loaded_runs.synced_at,
    case
        when not run_outcomes.is_final then null
        when loaded_runs.end_time is not null and loaded_runs.start_time is not null
            then (epoch_us(loaded_runs.end_time) - epoch_us(loaded_runs.start_time)) // 1000 / 1000.0
        else loaded_runs.total_duration_ms / 1000.0
    end as duration_s,
    run_outcomes.is_final,
    run_outcomes.is_failure,
    case
        when loaded_runs.status = 'COMPLETED' then true
        when run_outcomes.is_final and loaded_runs.status <> 'CONTINUED_AS_NEW' then false
    end as is_success,
    coalesce(
        loaded_runs.root_execution_id = loaded_runs.execution_id or loaded_runs.parent_execution_id is null,
        false
    ) as is_root,
    cast(loaded_runs.start_time at time zone 'UTC' as date) as start_day,
    coalesce(event_totals.event_count, 0) as event_count,
    event_totals.last_event_time,
    last_events.last_event_type,
    closing_events.closing_event_id,
    closing_events.closing_event_type
from loaded_runs
inner join run_outcomes on run_outcomes.run_id = loaded_runs.run_id
left join event_totals on event_totals.run_id = loaded_runs.run_id
left join last_events on last_events.run_id = loaded_runs.run_id
left join closing_events on closing_events.run_id = loaded_runs.run_id
