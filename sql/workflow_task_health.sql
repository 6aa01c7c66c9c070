-- One row per workflow name and UTC day of the workflow task events: how many workflow tasks
-- were scheduled and how many failed or timed out. A failing workflow task usually means a
-- worker bug or non-determinism, and a timed-out one a missing or overloaded worker.
with

loaded_runs as (
    select
        run_id,
        workflow_name
    from runs
),

history_events as (
    select
        run_id,
        event_time,
        event_type
    from run_events
    where event_type in ('WORKFLOW_TASK_SCHEDULED', 'WORKFLOW_TASK_FAILED', 'WORKFLOW_TASK_TIMED_OUT')
),

workflow_task_events as (
    select
        loaded_runs.workflow_name,
        cast(history_events.event_time at time zone 'UTC' as date) as event_day,
        history_events.event_type
    from history_events
    inner join loaded_runs on loaded_runs.run_id = history_events.run_id
),

daily_counts as (
    select
        workflow_name,
        event_day,
        count(*) filter (where event_type = 'WORKFLOW_TASK_SCHEDULED') as workflow_tasks,
        count(*) filter (where event_type = 'WORKFLOW_TASK_FAILED') as workflow_task_failures,
        count(*) filter (where event_type = 'WORKFLOW_TASK_TIMED_OUT') as workflow_task_timeouts
    from workflow_task_events
    group by workflow_name, event_day
)

select
    workflow_name,
    event_day,
    workflow_tasks,
    workflow_task_failures,
    workflow_task_timeouts,
    cast(workflow_task_failures + workflow_task_timeouts as double) / nullif(workflow_tasks, 0) as failure_rate
from daily_counts
