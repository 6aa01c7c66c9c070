-- One row per activity execution, that is per ACTIVITY_TASK_SCHEDULED event, with its started
-- and closing events. Temporal records retries inside one execution: the started event carries
-- the attempt number of the last attempt, so retries never add rows here.
with

loaded_runs as (
    select
        run_id,
        workflow_name,
        is_final
    from runs_enriched
),

history_events as (
    select
        run_id,
        event_id,
        event_time,
        event_type,
        activity_id,
        activity_type,
        scheduled_event_id,
        started_event_id,
        attempt,
        failure_message,
        failure_type
    from run_events
),

scheduled_events as (
    select
        run_id,
        event_id as scheduled_event_id,
        event_time as scheduled_time,
        activity_id,
        activity_type
    from history_events
    where event_type = 'ACTIVITY_TASK_SCHEDULED'
),

all_started_events as (
    select
        run_id,
        event_id as started_event_id,
        scheduled_event_id,
        event_time as started_time,
        attempt
    from history_events
    where event_type = 'ACTIVITY_TASK_STARTED'
),

-- A closing event normally names its scheduled event. When it names only its started event,
-- the link goes through that started event instead.
linked_closing_events as (
    select
        closing.run_id,
        closing.event_id as closed_event_id,
        coalesce(closing.scheduled_event_id, started_by_id.scheduled_event_id) as scheduled_event_id,
        closing.event_time as closed_time,
        case closing.event_type
            when 'ACTIVITY_TASK_COMPLETED' then 'completed'
            when 'ACTIVITY_TASK_FAILED' then 'failed'
            when 'ACTIVITY_TASK_TIMED_OUT' then 'timed_out'
            when 'ACTIVITY_TASK_CANCELED' then 'canceled'
        end as outcome,
        closing.failure_message,
        closing.failure_type
    from history_events as closing
    left join all_started_events as started_by_id
        on started_by_id.run_id = closing.run_id
        and started_by_id.started_event_id = closing.started_event_id
    where closing.event_type in (
        'ACTIVITY_TASK_COMPLETED',
        'ACTIVITY_TASK_FAILED',
        'ACTIVITY_TASK_TIMED_OUT',
        'ACTIVITY_TASK_CANCELED'
    )
),

-- A valid history has at most one started and one closing event per scheduled event. Keeping
-- the first of each guarantees one row per execution even when a history repeats one.
numbered_started_events as (
    select
        run_id,
        scheduled_event_id,
        started_event_id,
        started_time,
        attempt,
        row_number() over (partition by run_id, scheduled_event_id order by started_event_id) as position
    from all_started_events
),

numbered_closing_events as (
    select
        run_id,
        scheduled_event_id,
        closed_event_id,
        closed_time,
        outcome,
        failure_message,
        failure_type,
        row_number() over (partition by run_id, scheduled_event_id order by closed_event_id) as position
    from linked_closing_events
),

first_started_events as (
    select
        run_id,
        scheduled_event_id,
        started_event_id,
        started_time,
        attempt
    from numbered_started_events
    where position = 1
),

first_closing_events as (
    select
        run_id,
        scheduled_event_id,
        closed_event_id,
        closed_time,
        outcome,
        failure_message,
        failure_type
    from numbered_closing_events
    where position = 1
)

select
    scheduled_events.run_id,
    loaded_runs.workflow_name,
    scheduled_events.activity_type,
    scheduled_events.activity_id,
    scheduled_events.scheduled_event_id,
    first_started_events.started_event_id,
    first_closing_events.closed_event_id,
    first_started_events.attempt,
    case
        when first_closing_events.outcome is not null then first_closing_events.outcome
        when loaded_runs.is_final then 'abandoned'
        else 'open'
    end as outcome,
    scheduled_events.scheduled_time,
    first_started_events.started_time,
    first_closing_events.closed_time,
    (epoch_us(first_started_events.started_time) - epoch_us(scheduled_events.scheduled_time)) // 1000
        as schedule_to_start_ms,
    (epoch_us(first_closing_events.closed_time) - epoch_us(first_started_events.started_time)) // 1000
        as start_to_close_ms,
    first_closing_events.failure_message,
    first_closing_events.failure_type,
    first_started_events.attempt > 1 as is_retried
from scheduled_events
left join loaded_runs on loaded_runs.run_id = scheduled_events.run_id
left join first_started_events
    on first_started_events.run_id = scheduled_events.run_id
    and first_started_events.scheduled_event_id = scheduled_events.scheduled_event_id
left join first_closing_events
    on first_closing_events.run_id = scheduled_events.run_id
    and first_closing_events.scheduled_event_id = scheduled_events.scheduled_event_id
