"""OpenAI tools through the gateway, with the official `openai` SDK, on the
tiny model: the engine's test script (PINCER_TEST_SCRIPT) makes the random
weights write a scripted `<tool_call>`, so the real template, parser and
wire format run; `tool_choice` naming a function constrains decoding with
no script at all."""

import json

import openai
import pytest

from conftest import MODEL_DIR, start_server, stop

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "enum": ["Paris", "Oslo"]}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}

CALL = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'


@pytest.fixture(scope="module")
def scripted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tools")
    script = tmp / "script.json"
    script.write_text(
        json.dumps(
            [
                {"when": "weather in Paris", "say": "Let me check." + "\n" + CALL},
                {"when": "sunny, 21", "say": "It is sunny in Paris, 21 degrees."},
            ]
        )
    )
    server = start_server(tmp, MODEL_DIR / "model.gguf", env={"PINCER_TEST_SCRIPT": str(script)})
    yield server
    stop(server)


def model_of(server):
    return server.client().models.list().data[0].id


def test_a_tool_call_comes_back_as_tool_calls_and_its_result_is_answered(scripted):
    client, model = scripted.client(), model_of(scripted)
    question = [{"role": "user", "content": "What is the weather in Paris?"}]
    first = client.chat.completions.create(model=model, messages=question, tools=[WEATHER], tool_choice="auto")
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Let me check.\n"
    [call] = choice.message.tool_calls
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}

    # The SDK's own objects go back as history: the call and its result.
    history = question + [choice.message.model_dump(exclude_none=True)]
    history.append({"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 degrees"})
    second = client.chat.completions.create(model=model, messages=history, tools=[WEATHER])
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == "It is sunny in Paris, 21 degrees."
    assert second.choices[0].message.tool_calls is None
    # Replayed, the call and the result are part of the prompt.
    assert second.usage.prompt_tokens > first.usage.prompt_tokens + 20


def test_a_streamed_tool_call_arrives_as_deltas(scripted):
    client, model = scripted.client(), model_of(scripted)
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "the weather in Paris, please"}],
        tools=[WEATHER],
        stream=True,
    )
    content, calls, reasons = "", {}, []
    for chunk in stream:
        for choice in chunk.choices:
            delta = choice.delta
            content += delta.content or ""
            for part in delta.tool_calls or []:
                entry = calls.setdefault(part.index, {"id": None, "name": "", "arguments": ""})
                entry["id"] = part.id or entry["id"]
                entry["name"] += (part.function.name or "") if part.function else ""
                entry["arguments"] += (part.function.arguments or "") if part.function else ""
            if choice.finish_reason:
                reasons.append(choice.finish_reason)
    assert content == "Let me check.\n"
    assert list(calls) == [0]
    assert calls[0]["name"] == "get_weather" and json.loads(calls[0]["arguments"]) == {"city": "Paris"}
    assert reasons == ["tool_calls"]


def test_tools_change_the_prompt(scripted):
    client, model = scripted.client(), model_of(scripted)
    ask = [{"role": "user", "content": "hello"}]
    bare = client.chat.completions.create(model=model, messages=ask, max_tokens=1)
    tooled = client.chat.completions.create(model=model, messages=ask, max_tokens=1, tools=[WEATHER], tool_choice="none")
    assert tooled.usage.prompt_tokens > bare.usage.prompt_tokens + 30


def test_a_named_tool_choice_gets_a_valid_call_even_from_random_weights(scripted):
    client, model = scripted.client(), model_of(scripted)
    answer = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "anything at all"}],
        tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        temperature=1.0,
        seed=3,
        max_tokens=200,
    )
    [call] = answer.choices[0].message.tool_calls
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments)["city"] in ("Paris", "Oslo")


def test_an_unusable_tool_schema_is_a_400_naming_it(scripted):
    client, model = scripted.client(), model_of(scripted)
    bad = {"type": "function", "function": {"name": "broken", "parameters": {"type": "string"}}}
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}], tools=[bad])
    assert "broken" in refused.value.message


def test_a_prompt_over_the_context_is_refused_before_streaming(scripted):
    client, model = scripted.client(), model_of(scripted)
    long = "many words " * 12_000
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as refused:
            client.chat.completions.create(model=model, messages=[{"role": "user", "content": long}], stream=stream)
        assert refused.value.code == "context_length_exceeded"
        assert refused.value.body["message"].startswith("This model's maximum context length is 16384 tokens.")
        assert refused.value.body["param"] == "messages"


def test_a_prompt_too_long_to_read_in_memory_is_refused_as_over_the_context(tmp_path):
    # 0.01 GB: about 1,190 new tokens fit (7 bytes per mask cell).
    server = start_server(tmp_path, MODEL_DIR / "model.gguf", "--prefill-memory-gb", "0.01")
    try:
        client, model = server.client(), model_of(server)
        long = [{"role": "user", "content": "many words " * 300}]
        for stream in (False, True):
            with pytest.raises(openai.BadRequestError) as refused:
                client.chat.completions.create(model=model, messages=long, stream=stream, max_tokens=2)
            assert refused.value.code == "context_length_exceeded"
            message = refused.value.body["message"]
            assert message.startswith("This model's maximum context length is 1195 tokens."), message
            assert "--prefill-memory-gb" in message and "attention mask" in message, message
        short = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hello"}], max_tokens=2)
        assert short.choices[0].finish_reason == "length"
    finally:
        stop(server)
