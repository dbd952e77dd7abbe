from __future__ import annotations

from app.tools.schema_check import check_arguments

WEATHER = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "City"},
        "format": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer"},
        "hourly": {"type": "boolean"},
        "stations": {"type": "array", "items": {"type": "string"}},
        "at": {"type": "object", "properties": {"lat": {"type": "number"}}, "required": ["lat"]},
        "note": {"type": "string", "nullable": True},
    },
    "required": ["location"],
}


def test_good_arguments_have_no_problems() -> None:
    args = {"location": "Oslo", "format": "celsius", "days": 3, "hourly": False, "stations": ["a"],
            "at": {"lat": 59.9}, "note": None, "extra": "allowed without additionalProperties: false"}
    assert check_arguments(args, WEATHER) == []


def test_missing_required_argument_is_named() -> None:
    assert check_arguments({}, WEATHER) == ["argument `location` is required"]


def test_wrong_types_say_what_was_expected_and_what_came() -> None:
    problems = check_arguments({"location": 5, "days": "three", "hourly": 1}, WEATHER)
    assert "argument `location` must be string, not number 5" in problems
    assert 'argument `days` must be integer, not string "three"' in problems
    assert "argument `hourly` must be boolean, not number 1" in problems


def test_booleans_are_not_numbers_and_whole_floats_are_integers() -> None:
    assert check_arguments({"location": "x", "days": True}, WEATHER) == [
        "argument `days` must be integer, not boolean true"]
    assert check_arguments({"location": "x", "days": 2.0}, WEATHER) == []


def test_enum_lists_the_choices() -> None:
    assert check_arguments({"location": "x", "format": "kelvin"}, WEATHER) == [
        'argument `format` must be one of "celsius", "fahrenheit", not "kelvin"']


def test_nested_objects_and_arrays_are_checked_with_their_path() -> None:
    problems = check_arguments({"location": "x", "stations": ["a", 2], "at": {}}, WEATHER)
    assert "argument `stations[1]` must be string, not number 2" in problems
    assert "argument `at.lat` is required" in problems


def test_unknown_arguments_are_refused_when_the_schema_says_so() -> None:
    strict = {"type": "object", "properties": {"q": {"type": "string"}}, "additionalProperties": False}
    assert check_arguments({"q": "x", "z": 1}, strict) == ["unknown argument `z` (the arguments are: `q`)"]


def test_a_tool_without_parameters_takes_no_arguments() -> None:
    assert check_arguments({}, None) == []
    assert check_arguments({"a": 1}, None) == ["this tool takes no arguments, but got `a`; call it with {}"]


def test_the_list_is_capped() -> None:
    schema = {"type": "object", "required": [f"p{i}" for i in range(20)]}
    assert len(check_arguments({}, schema)) == 5
