"""What one tool step adds to a turn of the agent's own chat, in one
`pincer serve` driven through the control API as the web UI drives it.
Side by side, alternating round by round:

  direct    a question answered at once
  tool      the same kind of question answered after one `read_file` call
            (a read in the workspace: the gate runs it without asking)

The engine's test setting (PINCER_TEST_SCRIPT) makes the random weights
write the scripted call and answer, so the real template, parser, gate,
tool and recording run. For the tool turn the events give the step's parts:
the call parsed (its `toolCall` event) → gate and run (until `toolResult`)
→ the result back in the prompt and the next step's first token (until the
first text). Times are taken by the client as the events arrive.
"""

import argparse
import json
import os
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

from tools import publish, start


def call_text(name, arguments):
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': arguments})}\n</tool_call>"


def turn(port, token, text):
    """Sends `text` as a new chat; returns the arrival time of each event and,
    last, `("stats", …)` with the last step's figures."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/control/send_message",
        data=json.dumps({"request": {"sessionId": None, "text": text, "maxTokens": 200}}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    started = time.perf_counter()
    seen = []
    with urllib.request.urlopen(request, timeout=600) as stream:
        for line in stream:
            item = json.loads(line)
            at = 1000 * (time.perf_counter() - started)
            if "event" in item:
                seen.append((item["event"]["type"], at))
            elif "result" in item:
                stats = item["result"]["stats"]
            elif "error" in item:
                raise SystemExit(f"the turn failed: {item['error']}")
    seen.append(("end", 1000 * (time.perf_counter() - started)))
    seen.append(("stats", stats))
    return seen


def first(seen, kind, after=0.0):
    return next(at for k, at in seen if k == kind and k != "stats" and at >= after)


def new_tokens(seen):
    """The last step's prompt tokens the engine did not hold already."""
    stats = seen[-1][1]
    return stats["promptTokens"] - (stats["cachedPromptTokens"] or 0)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pincer", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--port", type=int, default=18934)
    parser.add_argument("--out")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="pincer-tool-step-bench-"))
    (data_dir / "workspace").mkdir()
    (data_dir / "workspace" / "shed.md").write_text("# Shed\n\nThe spare key is under the third flowerpot.\n")
    script = data_dir.parent / f"{data_dir.name}-script.json"
    lines = []
    for n in range(args.rounds + 1):
        lines.append({"when": f"Direct question {n}?", "say": "The key is under the third flowerpot."})
        lines.append({"when": f"Tool question {n}?", "say": call_text("read_file", {"path": "shed.md"})})
    lines.append({"when": "third flowerpot", "say": "The key is under the third flowerpot."})
    script.write_text(json.dumps(lines))
    os.environ["PINCER_TEST_SCRIPT"] = str(script)
    process, token = start(args.pincer, args.model, str(data_dir), args.port)
    try:
        turn(args.port, token, "Direct question 0?")  # warm-up
        turn(args.port, token, "Tool question 0?")
        direct, tool, gate_and_run, back_to_first_token = [], [], [], []
        direct_new, step_two_new = [], []
        for n in range(1, args.rounds + 1):
            order = ("direct", "tool") if n % 2 else ("tool", "direct")
            for kind in order:
                seen = turn(args.port, token, f"{kind.capitalize()} question {n}?")
                end = first(seen, "end")
                if kind == "direct":
                    direct.append(end)
                    direct_new.append(new_tokens(seen))
                    continue
                tool.append(end)
                step_two_new.append(new_tokens(seen))
                called, result = first(seen, "toolCall"), first(seen, "toolResult")
                gate_and_run.append(result - called)
                back_to_first_token.append(first(seen, "delta", after=result) - result)
        median = lambda values: round(statistics.median(values), 1)
        report = {
            "rounds": args.rounds,
            "direct_turn_ms_median": median(direct),
            "tool_turn_ms_median": median(tool),
            "added_by_the_step_ms_median": round(median(tool) - median(direct), 1),
            "call_parsed_to_result_ms_median": median(gate_and_run),
            "result_to_next_first_token_ms_median": median(back_to_first_token),
            "direct_new_prompt_tokens_median": median(direct_new),
            "step_two_new_prompt_tokens_median": median(step_two_new),
        }
        publish(report, args.out)
    finally:
        process.terminate()
        process.wait(timeout=60)


if __name__ == "__main__":
    main()
