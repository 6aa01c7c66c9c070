-- One row per root execution: the runs of its execution tree (children, grandchildren and
-- continue-as-new runs that share the root), how deep the tree goes and how it ended.
with recursive

enriched_runs as (
    select
        run_id,
        execution_id,
        parent_execution_id,
        coalesce(root_execution_id, execution_id) as root_execution_id,
        workflow_name,
        status,
        start_time,
        end_time,
        is_final,
        is_failure
    from runs_enriched
),

-- Several runs can share one execution id (continue-as-new keeps it), so links are taken
-- between distinct executions.
execution_links as (
    select distinct
        root_execution_id,
        execution_id,
        parent_execution_id
    from enriched_runs
),

-- Walks parent links down from each root. The path guards against a cycle in bad data.
tree_levels as (
    select
        root_execution_id,
        execution_id,
        1 as level,
        [execution_id] as path
    from execution_links
    where execution_id = root_execution_id
    union all
    select
        tree_levels.root_execution_id,
        execution_links.execution_id,
        tree_levels.level + 1 as level,
        list_append(tree_levels.path, execution_links.execution_id) as path
    from tree_levels
    inner join execution_links
        on execution_links.parent_execution_id = tree_levels.execution_id
        and execution_links.root_execution_id = tree_levels.root_execution_id
    where not list_contains(tree_levels.path, execution_links.execution_id)
),

tree_depths as (
    select
        root_execution_id,
        count(distinct execution_id) as reached_executions,
        max(level) as max_level
    from tree_levels
    group by root_execution_id
),

numbered_root_runs as (
    select
        root_execution_id,
        workflow_name,
        row_number() over (partition by root_execution_id order by start_time, run_id) as position
    from enriched_runs
    where execution_id = root_execution_id
),

root_runs as (
    select
        root_execution_id,
        workflow_name
    from numbered_root_runs
    where position = 1
),

tree_totals as (
    select
        root_execution_id,
        count(*) as runs_in_tree,
        count(distinct execution_id) as executions_in_tree,
        count(*) filter (where status = 'COMPLETED') as count_completed,
        count(*) filter (where is_failure) as count_failed,
        count(*) filter (where not is_final) as count_running,
        count(*) filter (where is_final and not is_failure and status <> 'COMPLETED') as count_other,
        count(*) filter (where not is_final or end_time is null) as runs_without_end,
        min(start_time) as first_start_time,
        max(end_time) as max_end_time
    from enriched_runs
    group by root_execution_id
),

tree_times as (
    select
        root_execution_id,
        first_start_time,
        case when runs_without_end = 0 then max_end_time end as last_end_time
    from tree_totals
)

select
    tree_totals.root_execution_id,
    root_runs.workflow_name,
    tree_totals.runs_in_tree,
    case
        when tree_depths.reached_executions = tree_totals.executions_in_tree then tree_depths.max_level
    end as depth,
    tree_totals.count_completed,
    tree_totals.count_failed,
    tree_totals.count_running,
    tree_totals.count_other,
    tree_times.first_start_time,
    tree_times.last_end_time,
    (epoch_us(tree_times.last_end_time) - epoch_us(tree_times.first_start_time)) // 1000 / 1000.0 as wall_time_s,
    tree_totals.count_failed > 0 as has_failure
from tree_totals
inner join tree_times on tree_times.root_execution_id = tree_totals.root_execution_id
left join tree_depths on tree_depths.root_execution_id = tree_totals.root_execution_id
left join root_runs on root_runs.root_execution_id = tree_totals.root_execution_id
