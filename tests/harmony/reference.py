"""openai-harmony, the reference, for the tests: random conversations and the library's view of them.

`conversations()` draws whole conversations as gpt-oss sees them (system and developer content, function
tools with JSON schemas, users, reasoning, preambles, tool calls and results, answers), with text in
several scripts, code, emoji, whitespace runs and the Harmony literals as plain text.
`reference_render` renders them with openai-harmony on the real o200k_harmony vocabulary
(`fixtures.o200k`), earlier reasoning never dropped (the app follows SPEC section 7 there instead).
"""

from __future__ import annotations

import json
from typing import Any

import openai_harmony as ref
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from openai_harmony import Conversation, RenderConversationConfig, Role
from openai_harmony import Message as ReferenceMessage

from app.harmony import (
    ANALYSIS,
    ASSISTANT,
    COMMENTARY,
    DEVELOPER,
    FINAL,
    SYSTEM,
    TOOL,
    USER,
    DeveloperContent,
    Message,
    ReasoningEffort,
    Special,
    SystemContent,
    Text,
    ToolDescription,
    browser_namespace,
    function_tools,
    message_to_json,
    python_namespace,
)
from fixtures.o200k import reference_encoding

ORACLE_SETTINGS = settings(max_examples=60, deadline=None,
                           suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Text as people and models write it: words in several scripts, code, JSON, emoji, whitespace runs, and
# the Harmony literals themselves (plain text, never specials).
words = st.sampled_from([
    "Hello", "world", "the", "Straße", "über", "北京", "東京", "😀", "👍🏽", "x=1;", "def f():", "{\"a\": 1}",
    "12345678", "3.14", "<|start|>", "<|end|>", "<|channel|>", "to=functions.x", "json", "\t", "  ", "\n",
    "\n\n", "naïve", "don't", "I'LL", "—", "…", "#", "**bold**"])
texts = st.lists(words, min_size=1, max_size=12).map(" ".join)
names = st.from_regex(r"[a-z][a-z_]{0,10}", fullmatch=True)
efforts = st.sampled_from(list(ReasoningEffort))
dates = st.one_of(st.none(), st.dates().map(lambda d: d.isoformat()))


def _schema() -> st.SearchStrategy[Any]:
    leaf = st.fixed_dictionaries({"type": st.sampled_from(["string", "number", "integer", "boolean"])},
                                 optional={"description": texts})
    enum = st.fixed_dictionaries({"type": st.just("string"),
                                  "enum": st.lists(names, min_size=1, max_size=3, unique=True)})
    array = st.fixed_dictionaries({"type": st.just("array"), "items": leaf})
    properties = st.dictionaries(names, st.one_of(leaf, enum, array), max_size=4)
    return properties.flatmap(lambda props: st.fixed_dictionaries({
        "type": st.just("object"), "properties": st.just(props),
        "required": st.lists(st.sampled_from(sorted(props)), unique=True) if props else st.just([]),
    }))


tools = st.lists(st.builds(ToolDescription, names, texts, st.one_of(st.none(), _schema())),
                 max_size=3, unique_by=lambda tool: tool.name)
system_contents = st.builds(
    SystemContent, reasoning_effort=efforts, conversation_start_date=dates,
    tools=st.lists(st.sampled_from([browser_namespace(), python_namespace()]), max_size=2,
                   unique_by=lambda namespace: namespace.name).map(tuple))


@st.composite
def conversations(draw: st.DrawFn) -> list[Message]:
    messages = [Message(SYSTEM, draw(system_contents))]
    functions = draw(tools)
    instructions = draw(st.one_of(st.none(), texts))
    if functions or instructions is not None:
        namespaces = (function_tools(functions),) if functions else ()
        messages.append(Message(DEVELOPER, DeveloperContent(instructions=instructions, tools=namespaces)))
    for _ in range(draw(st.integers(1, 3))):
        messages.append(Message(USER, draw(texts)))
        messages += draw(assistant_turn(tuple(tool.name for tool in functions)))
    return messages


@st.composite
def assistant_turn(draw: st.DrawFn, function_names: tuple[str, ...]) -> list[Message]:
    """Reasoning, then any mix of preambles and tool calls with their results, then an answer."""
    turn: list[Message] = []
    if draw(st.booleans()):
        turn.append(Message(ASSISTANT, draw(texts), channel=ANALYSIS))
    for _ in range(draw(st.integers(0, 2))):
        if function_names and draw(st.booleans()):
            name = f"functions.{draw(st.sampled_from(function_names))}"
            arguments = json.dumps(draw(st.dictionaries(names, st.one_of(texts, st.integers()), max_size=2)))
            turn.append(Message(ASSISTANT, arguments, channel=COMMENTARY, recipient=name,
                                content_type="<|constrain|>json"))
            turn.append(Message(TOOL, draw(texts), name=name, channel=COMMENTARY, recipient=ASSISTANT))
        else:
            turn.append(Message(ASSISTANT, draw(texts), channel=COMMENTARY))
    turn.append(Message(ASSISTANT, draw(texts), channel=FINAL))
    return turn


def reference_messages(messages: list[Message]) -> list[ReferenceMessage]:
    """The app's messages in the library's own types (its `from_dict` reads text content only)."""
    converted = []
    for message in messages:
        document = message_to_json(message)
        content = message.content
        if isinstance(content, SystemContent | DeveloperContent):
            document["content"] = ""
        reference = ReferenceMessage.from_dict(document)
        if isinstance(content, SystemContent):
            reference.content = [_reference_system(content)]
        elif isinstance(content, DeveloperContent):
            reference.content = [ref.DeveloperContent(instructions=content.instructions,
                                                      tools=_reference_tools(content.tools))]
        converted.append(reference)
    return converted


def _reference_system(content: SystemContent) -> ref.SystemContent:
    channels, effort = content.channel_config, content.reasoning_effort
    return ref.SystemContent(
        model_identity=content.model_identity,
        reasoning_effort=ref.ReasoningEffort[effort.name] if effort else None,
        conversation_start_date=content.conversation_start_date,
        knowledge_cutoff=content.knowledge_cutoff,
        channel_config=ref.ChannelConfig(valid_channels=list(channels.valid_channels),
                                         channel_required=channels.channel_required) if channels else None,
        tools=_reference_tools(content.tools))


def _reference_tools(namespaces: tuple) -> dict[str, ref.ToolNamespaceConfig] | None:
    if not namespaces:
        return None
    return {namespace.name: ref.ToolNamespaceConfig(
        name=namespace.name, description=namespace.description,
        tools=[ref.ToolDescription(name=tool.name, description=tool.description, parameters=tool.parameters)
               for tool in namespace.tools]) for namespace in namespaces}


def reference_render(messages: list[Message], next_turn_role: str | None) -> list[int]:
    encoding = reference_encoding()
    conversation = Conversation.from_messages(reference_messages(messages))
    config = RenderConversationConfig(auto_drop_analysis=False)
    if next_turn_role is None:
        return encoding.render_conversation(conversation, config)
    return encoding.render_conversation_for_completion(conversation, Role(next_turn_role), config)


def encode_segments(segments: list) -> list[int]:
    """The app's segments as the reference's ids: text as plain text, specials by their text."""
    encoding = reference_encoding()
    ids: list[int] = []
    for segment in segments:
        if isinstance(segment, Special):
            ids += encoding.encode(segment.token, allowed_special="all")
        else:
            assert isinstance(segment, Text)
            ids += encoding.encode(segment.text, disallowed_special=())
    return ids
