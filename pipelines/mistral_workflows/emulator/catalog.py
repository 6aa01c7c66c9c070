"""The synthetic workload: which AI workflows exist, what activities they run and how long things take.

Durations are medians of log-normal draws in milliseconds. They only shape a history's
rhythm: the event times are later stretched or squeezed to fit the run's planned start
and end, so a plan and its history always agree.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# Median run time of one attempt of each activity type, in milliseconds.
ACTIVITY_MEDIAN_MS: dict[str, float] = {
    "call_llm": 2_500.0,
    "retrieve_documents": 350.0,
    "embed_chunks": 1_200.0,
    "run_tool": 700.0,
    "parse_pdf": 3_500.0,
    "send_email": 220.0,
    "list_documents": 300.0,
    "store_vectors": 600.0,
}

LLM_MODELS = ("mistral-large-latest", "mistral-small-latest", "codestral-latest", "ministral-8b-latest")
TOOL_NAMES = ("lookup_order", "search_kb", "create_ticket", "refund_payment", "check_status")
DEPLOYMENTS = ("prod-eu", "prod-eu", "prod-us", "staging")

# Activity failures as an SDK would report them: message and application failure type.
ACTIVITY_FAILURES: tuple[tuple[str, str], ...] = (
    ("429 Too Many Requests: rate limit exceeded for model", "RateLimitError"),
    ("upstream model returned an empty completion", "EmptyCompletionError"),
    ("PDF is encrypted and cannot be parsed", "PdfParseError"),
    ("tool call returned invalid JSON arguments", "ToolArgumentsError"),
    ("connection reset by peer while calling the vector store", "ConnectionError"),
)


@dataclass(frozen=True)
class WorkflowType:
    """One workflow definition: its name, how often it runs and the shape of its histories."""

    name: str
    weight: float
    task_queue: str
    prologue: tuple[str, ...]
    loop: tuple[str, ...]
    events_range: tuple[int, int]
    duration_median_s: float
    is_child_only: bool = False
    spawns_children: bool = False
    continues_as_new: bool = False
    uses_timers: bool = False


WORKFLOW_TYPES: tuple[WorkflowType, ...] = (
    WorkflowType("document-summarizer", 0.22, "summaries", ("parse_pdf", "retrieve_documents"),
                 ("call_llm",), (14, 40), 40.0),
    WorkflowType("support-agent", 0.18, "support", ("retrieve_documents",),
                 ("call_llm", "run_tool"), (20, 80), 180.0, uses_timers=True),
    WorkflowType("rag-indexer", 0.09, "indexing", ("list_documents",),
                 ("store_vectors",), (16, 40), 240.0, spawns_children=True),
    WorkflowType("embed-batch", 0.0, "indexing", ("parse_pdf",),
                 ("embed_chunks",), (10, 28), 60.0, is_child_only=True),
    WorkflowType("invoice-extractor", 0.18, "documents", ("parse_pdf",),
                 ("call_llm", "send_email"), (12, 30), 20.0),
    WorkflowType("code-review-agent", 0.16, "code-review", ("retrieve_documents",),
                 ("call_llm", "run_tool", "call_llm"), (18, 70), 120.0),
    WorkflowType("chat-session", 0.17, "chat", (),
                 ("call_llm",), (12, 60), 600.0, continues_as_new=True, uses_timers=True),
)

WORKFLOW_BY_NAME: dict[str, WorkflowType] = {workflow.name: workflow for workflow in WORKFLOW_TYPES}
ROOT_WORKFLOWS = tuple(workflow for workflow in WORKFLOW_TYPES if not workflow.is_child_only)


def pick_root_workflow(rng: random.Random) -> WorkflowType:
    """Draw a workflow type that can start on its own, by weight."""
    return rng.choices(ROOT_WORKFLOWS, weights=[workflow.weight for workflow in ROOT_WORKFLOWS])[0]


def draw_duration_ms(rng: random.Random, median_ms: float, sigma: float = 0.8) -> float:
    """Draw a log-normal duration around a median."""
    return median_ms * rng.lognormvariate(0.0, sigma)


def draw_queue_wait_ms(rng: random.Random) -> float:
    """Draw the wait between a task being scheduled and a worker starting it.

    Mostly milliseconds, with a tail of busy-queue waits of several seconds.
    """
    if rng.random() < 0.05:
        return rng.uniform(2_000.0, 20_000.0)
    return draw_duration_ms(rng, 25.0, 0.9)


def activity_input(rng: random.Random, activity_type: str, run_index: int, step: int) -> dict:
    """Build the JSON input of one activity call."""
    if activity_type == "call_llm":
        return {"model": rng.choice(LLM_MODELS), "messages": step + 1, "temperature": 0.2}
    if activity_type == "run_tool":
        return {"tool": rng.choice(TOOL_NAMES), "arguments": {"id": f"ord-{run_index}-{step}"}}
    if activity_type in ("parse_pdf", "list_documents"):
        return {"uri": f"s3://docs/batch-{run_index % 97}/file-{step}.pdf"}
    if activity_type == "send_email":
        return {"to": f"user{run_index % 50}@example.com", "template": "result-ready"}
    return {"query": f"chunk set {step}", "top_k": 8}


def activity_result(rng: random.Random, activity_type: str) -> dict:
    """Build the JSON result of one successful activity call."""
    if activity_type == "call_llm":
        return {
            "finish_reason": "stop",
            "usage": {"prompt_tokens": rng.randint(200, 6_000), "completion_tokens": rng.randint(20, 900)},
        }
    if activity_type in ("embed_chunks", "store_vectors"):
        return {"vectors": rng.randint(16, 512)}
    if activity_type == "parse_pdf":
        return {"pages": rng.randint(1, 40)}
    if activity_type == "retrieve_documents":
        return {"documents": rng.randint(1, 12)}
    return {"ok": True}


def workflow_input(rng: random.Random, workflow_name: str, run_index: int) -> dict:
    """Build the JSON input a workflow run was started with."""
    return {"request_id": f"req-{run_index:06d}", "workflow": workflow_name, "priority": rng.choice(("low", "normal", "high"))}


def workflow_result(rng: random.Random, workflow_name: str) -> object:
    """Build the JSON result of a completed run, the same value in the detail and the history."""
    if workflow_name == "document-summarizer":
        return {"summary": "The document describes quarterly results.", "tokens": rng.randint(300, 9_000)}
    if workflow_name == "invoice-extractor":
        return {"invoice_number": f"INV-{rng.randint(1000, 99999)}", "total": round(rng.uniform(10, 5000), 2), "currency": "EUR"}
    if workflow_name == "code-review-agent":
        return {"comments": rng.randint(0, 25), "approved": rng.random() < 0.6}
    if workflow_name in ("rag-indexer", "embed-batch"):
        return {"chunks_indexed": rng.randint(100, 20_000)}
    if workflow_name == "support-agent":
        return {"resolution": rng.choice(("answered", "escalated", "refunded")), "turns": rng.randint(2, 12)}
    return {"messages": rng.randint(2, 40)}


def search_keys_for(rng: random.Random, workflow_name: str) -> dict:
    """Build the search keys a run was tagged with."""
    return {"tenant": rng.choice(("acme", "globex", "initech", "umbrella")), "source": rng.choice(("api", "le-chat", "batch")), "workflow": workflow_name}
