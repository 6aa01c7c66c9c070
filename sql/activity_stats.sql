-- One row per workflow name and activity type: execution and failure counts, retries, queue
-- wait and run time percentiles, and the most frequent failure message.
with

executions as (
    select
        workflow_name,
        activity_type,
        outcome,
        is_retried,
        schedule_to_start_ms,
        start_to_close_ms,
        failure_message
    from activity_executions
),

failure_messages as (
    select
        workflow_name,
        activity_type,
        failure_message,
        count(*) as message_count
    from executions
    where outcome in ('failed', 'timed_out')
        and failure_message is not null
    group by workflow_name, activity_type, failure_message
),

-- Ties go to the alphabetically first message so that the view is deterministic.
ranked_failure_messages as (
    select
        workflow_name,
        activity_type,
        failure_message,
        message_count,
        row_number() over (
            partition by workflow_name, activity_type
            order by message_count desc, failure_message
        ) as position
    from failure_messages
),

top_failure_messages as (
    select
        workflow_name,
        activity_type,
        failure_message as top_failure_message,
        message_count as top_failure_message_count
    from ranked_failure_messages
    where position = 1
),

execution_totals as (
    select
        workflow_name,
        activity_type,
        count(*) as executions,
        count(*) filter (where outcome in ('completed', 'failed', 'timed_out', 'canceled')) as closed_executions,
        count(*) filter (where outcome in ('failed', 'timed_out')) as failures,
        count(*) filter (where is_retried) as retried_executions,
        percentile_cont(0.5) within group (order by schedule_to_start_ms) as p50_schedule_to_start_ms,
        percentile_cont(0.95) within group (order by schedule_to_start_ms) as p95_schedule_to_start_ms,
        percentile_cont(0.5) within group (order by start_to_close_ms) as p50_start_to_close_ms,
        percentile_cont(0.95) within group (order by start_to_close_ms) as p95_start_to_close_ms
    from executions
    group by workflow_name, activity_type
)

select
    execution_totals.workflow_name,
    execution_totals.activity_type,
    execution_totals.executions,
    execution_totals.closed_executions,
    execution_totals.failures,
    cast(execution_totals.failures as double) / nullif(execution_totals.closed_executions, 0) as failure_rate,
    execution_totals.retried_executions,
    execution_totals.p50_schedule_to_start_ms,
    execution_totals.p95_schedule_to_start_ms,
    execution_totals.p50_start_to_close_ms,
    execution_totals.p95_start_to_close_ms,
    top_failure_messages.top_failure_message,
    top_failure_messages.top_failure_message_count
from execution_totals
left join top_failure_messages
    on top_failure_messages.workflow_name is not distinct from execution_totals.workflow_name
    and top_failure_messages.activity_type is not distinct from execution_totals.activity_type
