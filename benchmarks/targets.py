"""The performance targets, each judged met or not met from the measured rows.

Nothing here asserts: a missed target is reported in results.md with its numbers,
and the benchmark still exits 0. Only failed contenders and differing rows fail it.
"""

from __future__ import annotations

from dataclasses import dataclass

from scenarios import FLOOR, OURS_FULL, REST_API, ScenarioResult

SPEEDUP_OVER_REST_API = 10.0
MAX_FLOOR_RATIO = 1.5
MAX_NO_CHANGE_WALL_S = 3.0
MIN_EVENTS_PER_CPU_S = 25_000
MAX_PEAK_RSS_MB = 400.0
MAX_RSS_GROWTH = 0.15


@dataclass
class TargetOutcome:
    """One target: `met` is None when the scenario or contender it needs did not run."""

    target: str
    scenario: str
    measured: str
    met: bool | None


def evaluate_targets(main: ScenarioResult | None, big: ScenarioResult | None,
                     huge: ScenarioResult | None) -> list[TargetOutcome]:
    """Judge every target against the scenarios that ran."""
    return [
        _speedup_over_rest_api(main),
        _floor_ratio(main),
        _no_change_requests(main),
        _no_change_wall(main),
        _events_per_cpu_s(big),
        _peak_rss(big, "20,000-run sync"),
        _rss_growth(main, big),
        _peak_rss(huge, "sync of one 60,000-event history"),
    ]


def _speedup_over_rest_api(main: ScenarioResult | None) -> TargetOutcome:
    target = f"ours at least {SPEEDUP_OVER_REST_API:g}x faster than dlt rest_api (wall time)"
    ours, rest_api = _row(main, OURS_FULL), _row(main, REST_API)
    if ours is None or rest_api is None:
        return _not_run(target, main, "needs a successful full sync and rest_api run")
    speedup = rest_api.wall_s / ours.wall_s
    measured = f"rest_api {rest_api.wall_s:.1f} s / ours {ours.wall_s:.1f} s = {speedup:.1f}x"
    return TargetOutcome(target, main.spec.key, measured, speedup >= SPEEDUP_OVER_REST_API)


def _floor_ratio(main: ScenarioResult | None) -> TargetOutcome:
    target = f"ours within {MAX_FLOOR_RATIO:g}x of the floor (requests x latency / concurrency)"
    ours, floor = _row(main, OURS_FULL), _row(main, FLOOR)
    if ours is None or floor is None or floor.wall_s == 0:
        return _not_run(target, main, "needs a successful full sync at a latency above 0 ms")
    ratio = ours.wall_s / floor.wall_s
    measured = f"ours {ours.wall_s:.1f} s / floor {floor.wall_s:.1f} s = {ratio:.2f}x"
    return TargetOutcome(target, main.spec.key, measured, ratio <= MAX_FLOOR_RATIO)


def _no_change_requests(main: ScenarioResult | None) -> TargetOutcome:
    target = "sync with nothing new sends only the list pages and one history request per open run"
    check = main.no_change if main is not None else None
    if check is None:
        return _not_run(target, main, "the sync with nothing new did not run or failed")
    sent = _endpoints(check.requests_by_endpoint)
    expected = _endpoints(check.expected_requests)
    measured = f"sent {sent}; expected {expected} ({check.open_runs} open runs)"
    return TargetOutcome(target, main.spec.key, measured, check.requests_as_expected)


def _no_change_wall(main: ScenarioResult | None) -> TargetOutcome:
    target = f"sync with nothing new under {MAX_NO_CHANGE_WALL_S:g} s (wall time of the whole process)"
    check = main.no_change if main is not None else None
    if check is None:
        return _not_run(target, main, "the sync with nothing new did not run or failed")
    measured = f"{check.wall_s:.2f} s"
    if check.sync_reported_s is not None:
        measured += f" (the sync's own timer, without interpreter start and imports: {check.sync_reported_s:.1f} s)"
    return TargetOutcome(target, main.spec.key, measured, check.wall_s < MAX_NO_CHANGE_WALL_S)


def _events_per_cpu_s(big: ScenarioResult | None) -> TargetOutcome:
    target = f"at least {MIN_EVENTS_PER_CPU_S:,} events per CPU second of the sync process"
    ours = _row(big, OURS_FULL)
    if ours is None or not ours.events_per_cpu_s:
        return _not_run(target, big, "the full sync of the big scenario did not run or failed")
    measured = f"{ours.events:,} events / {ours.cpu_s:.1f} s CPU = {ours.events_per_cpu_s:,.0f} per s"
    return TargetOutcome(target, big.spec.key, measured, ours.events_per_cpu_s >= MIN_EVENTS_PER_CPU_S)


def _peak_rss(scenario: ScenarioResult | None, sync_label: str) -> TargetOutcome:
    target = f"peak RSS of the {sync_label} under {MAX_PEAK_RSS_MB:g} MB"
    ours = _row(scenario, OURS_FULL)
    if ours is None:
        return _not_run(target, scenario, "the full sync of this scenario did not run or failed")
    measured = f"{ours.peak_rss_mb:.0f} MB"
    return TargetOutcome(target, scenario.spec.key, measured, ours.peak_rss_mb < MAX_PEAK_RSS_MB)


def _rss_growth(main: ScenarioResult | None, big: ScenarioResult | None) -> TargetOutcome:
    target = f"peak RSS of the 20,000-run sync within {MAX_RSS_GROWTH:.0%} of the 2,000-run sync's"
    small_row, big_row = _row(main, OURS_FULL), _row(big, OURS_FULL)
    if small_row is None or big_row is None:
        return _not_run(target, big, "needs successful full syncs in the main and the big scenario")
    growth = big_row.peak_rss_mb / small_row.peak_rss_mb - 1
    measured = f"{big_row.peak_rss_mb:.0f} MB vs {small_row.peak_rss_mb:.0f} MB ({growth:+.1%})"
    return TargetOutcome(target, big.spec.key, measured, abs(growth) <= MAX_RSS_GROWTH)


def _row(scenario: ScenarioResult | None, contender: str):
    if scenario is None:
        return None
    row = scenario.row(contender)
    if row is None or row.exit_code != 0:
        return None
    return row


def _not_run(target: str, scenario: ScenarioResult | None, reason: str) -> TargetOutcome:
    return TargetOutcome(target, scenario.spec.key if scenario else "-", f"not measured: {reason}", None)


def _endpoints(counts: dict) -> str:
    return ", ".join(f"{name} {counts.get(name, 0)}" for name in ("list", "detail", "history"))
