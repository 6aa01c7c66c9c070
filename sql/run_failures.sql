-- One row per FAILED, TIMED_OUT or TERMINATED run: the failure its closing event records, and
-- the last activity that failed or timed out in its history, when there is one.
with

failed_runs as (
    select
        run_id,
        execution_id,
        workflow_name,
        status,
        start_time,
        end_time,
        closing_event_id
    from runs_enriched
    where is_failure
),

history_events as (
    select
        run_id,
        event_id,
        event_type,
        failure_message,
        failure_type,
        attributes
    from run_events
),

failed_activity_executions as (
    select
        run_id,
        activity_type,
        activity_id,
        attempt,
        outcome,
        closed_event_id,
        failure_message,
        failure_type
    from activity_executions
    where outcome in ('failed', 'timed_out')
),

-- A terminated run carries the operator's reason instead of a failure, and a timed-out run
-- carries neither. The closing event type is then used as the failure type.
closing_events as (
    select
        history_events.run_id,
        history_events.event_type as closing_event_type,
        case
            when history_events.event_type = 'WORKFLOW_EXECUTION_TERMINATED'
                then coalesce(history_events.attributes ->> '$.reason', history_events.failure_message)
            else history_events.failure_message
        end as failure_message,
        case
            when history_events.event_type in ('WORKFLOW_EXECUTION_TERMINATED', 'WORKFLOW_EXECUTION_TIMED_OUT')
                then coalesce(history_events.failure_type, history_events.event_type)
            else history_events.failure_type
        end as failure_type
    from failed_runs
    inner join history_events
        on history_events.run_id = failed_runs.run_id
        and history_events.event_id = failed_runs.closing_event_id
),

numbered_failed_activities as (
    select
        run_id,
        activity_type,
        activity_id,
        attempt,
        outcome,
        failure_message,
        failure_type,
        row_number() over (partition by run_id order by closed_event_id desc) as position_from_end
    from failed_activity_executions
),

last_failed_activities as (
    select
        run_id,
        activity_type,
        activity_id,
        attempt,
        outcome,
        failure_message,
        failure_type
    from numbered_failed_activities
    where position_from_end = 1
)

select
    failed_runs.run_id,
    failed_runs.execution_id,
    failed_runs.workflow_name,
    failed_runs.status,
    failed_runs.start_time,
    failed_runs.end_time,
    closing_events.closing_event_type,
    closing_events.failure_message,
    closing_events.failure_type,
    last_failed_activities.activity_type as last_failed_activity_type,
    last_failed_activities.activity_id as last_failed_activity_id,
    last_failed_activities.outcome as last_failed_activity_outcome,
    last_failed_activities.attempt as last_failed_activity_attempt,
    last_failed_activities.failure_message as last_failed_activity_message,
    last_failed_activities.failure_type as last_failed_activity_failure_type
from failed_runs
left join closing_events on closing_events.run_id = failed_runs.run_id
left join last_failed_activities on last_failed_activities.run_id = failed_runs.run_id
