"""Large synthetic tool results for the executor benchmarks (event_loop, throughput, memory).

A deterministic JSON array of API-log records (``random.Random(seed)``): realistic fields, a few
errors and slow outliers, so the engine does real selection work, not a trivial pass-through.
"""

from __future__ import annotations

import json
import random
from typing import Any


def api_log(target_bytes: int, seed: int = 0) -> str:
    """A JSON array of request records of roughly ``target_bytes`` bytes."""
    rng = random.Random(seed)
    methods = ["GET", "GET", "GET", "POST", "PUT", "DELETE"]
    services = [f"svc-{n}" for n in ("auth", "billing", "search", "orders", "users", "catalog")]
    records: list[dict[str, Any]] = []
    size = 2
    i = 0
    while size < target_bytes:
        status = 200 if rng.random() > 0.004 else rng.choice([500, 502, 503, 404])
        latency = rng.lognormvariate(3.2, 0.4) * (40 if rng.random() < 0.002 else 1)
        record = {
            "id": f"req-{seed:03d}-{i:07d}",
            "ts": f"2024-06-{1 + i // 86400 % 28:02d}T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z",
            "service": rng.choice(services),
            "method": rng.choice(methods),
            "path": f"/api/v2/items/{rng.randrange(10**6)}",
            "status": status,
            "latency_ms": round(latency, 2),
            "user": f"user-{rng.randrange(5000):04d}",
            "region": rng.choice(["eu-west-1", "us-east-1", "ap-south-1"]),
        }
        if status >= 500:
            record["error"] = "upstream connect error or disconnect/reset before headers"
        records.append(record)
        size += len(json.dumps(record)) + 2
        i += 1
    return json.dumps(records, indent=1)


def chat(result: str, n: int = 0) -> list[dict[str, Any]]:
    """A short OpenAI conversation whose last message is ``result`` as a tool result."""
    return [
        {"role": "system", "content": "You are an SRE assistant."},
        {"role": "user", "content": f"Why are requests failing? (case {n})"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": f"call_{n}", "type": "function", "function": {"name": "query_logs", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": f"call_{n}", "content": result},
    ]
