from __future__ import annotations

import pytest

from app.harmony import DeveloperContent, Message, render_message, segments_to_text
from app.tools.registry import FunctionTool, ToolRegistry, ToolSelection, developer_namespaces

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
    },
    "required": ["location"],
}


def weather(args: dict) -> dict:
    return {"sunny": True, "where": args["location"]}


def test_function_tool_names_must_be_identifiers() -> None:
    FunctionTool("get_weather", "Weather.", WEATHER_SCHEMA, weather)
    for bad in ("get weather", "1st", "", "a.b", "x" * 65):
        with pytest.raises(ValueError, match="identifier"):
            FunctionTool(bad, "d", None, weather)


def test_function_tool_parameters_must_be_an_object_schema() -> None:
    with pytest.raises(ValueError, match="type 'object'"):
        FunctionTool("f", "d", {"type": "string"}, weather)
    with pytest.raises(ValueError, match="callable"):
        FunctionTool("f", "d", None, "not a function")  # type: ignore[arg-type]


def test_registry_refuses_a_second_tool_of_the_same_name() -> None:
    registry = ToolRegistry([FunctionTool("get_weather", "Weather.", WEATHER_SCHEMA, weather)])
    with pytest.raises(ValueError, match="already registered"):
        registry.register(FunctionTool("get_weather", "Other.", None, weather))
    assert registry.function_names == ("get_weather",)
    assert registry.function("nope") is None


def test_selection_enables_by_call_target() -> None:
    selection = ToolSelection(python=True, browser=False, functions=frozenset({"get_weather"}))
    assert selection.enables("python")
    assert not selection.enables("browser.search")
    assert selection.enables("functions.get_weather")
    assert not selection.enables("functions.other")
    assert not selection.enables("container.exec")


def test_selection_record_round_trip_and_bad_records() -> None:
    selection = ToolSelection(python=True, browser=True, functions=frozenset({"b", "a"}))
    record = selection.to_record()
    assert record == {"python": True, "browser": True, "functions": ["a", "b"]}
    assert ToolSelection.from_record(record) == selection
    assert ToolSelection.from_record({}) == ToolSelection()
    with pytest.raises(ValueError, match="true/false"):
        ToolSelection.from_record({"python": "yes"})
    with pytest.raises(ValueError, match="list of names"):
        ToolSelection.from_record({"functions": "get_weather"})
    with pytest.raises(ValueError, match="object"):
        ToolSelection.from_record(["python"])  # type: ignore[arg-type]


def test_enabled_functions_render_in_the_developer_message() -> None:
    registry = ToolRegistry([
        FunctionTool("get_weather", "Gets the current weather in the provided location.", WEATHER_SCHEMA,
                     weather),
        FunctionTool("get_location", "Gets the location of the user.", None, lambda args: "Oslo"),
    ])
    namespaces = developer_namespaces(ToolSelection(functions=frozenset({"get_weather"})), registry)
    text = segments_to_text(render_message(Message("developer", DeveloperContent("Be brief.", namespaces))))
    assert "namespace functions {" in text
    assert "// Gets the current weather in the provided location.\ntype get_weather = (_: {" in text
    assert "location: string," in text
    assert "get_location" not in text  # not enabled in this conversation
    assert developer_namespaces(ToolSelection(), registry) == ()
