"""A GBNF grammar that makes gpt-oss call a function: OpenAI's `tool_choice` "required" or a named tool.

The reply may think first (one `analysis` message), then must be a `commentary` message addressed to one
of the named functions, constrained to JSON, whose arguments are a JSON object (llama.cpp's own
grammars/json.gbnf, whose strings here never hold "<|": see `_JSON`). After the object only an end token
can follow; a caller that also keeps `<|return|>` and `<|endoftext|>` from being sampled leaves
`<|call|>`, the token of a tool call.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from app.harmony.segments import END_OF_TEXT, RETURN

# llama.cpp grammars/json.gbnf (an object at the top), with the whitespace rule bounded as there, and no
# "<|" in a string: llama.cpp matches a special token's text ("<|end|>", "<|start|>") against a character
# class, so json.gbnf's strings let one through, and the Harmony parser reads it as the end of the call
# (with random weights 7 forced calls in 10 ended in cut, unreadable arguments).
_JSON = r'''
object ::= "{" ws ( string ":" ws value ( "," ws string ":" ws value )* )? "}"
value ::= object ws | array ws | string ws | number ws | ( "true" | "false" | "null" ) ws
array ::= "[" ws ( value ( "," ws value )* )? "]"
string ::= "\"" ( char | "<"+ ( [^|<"\\\x7F\x00-\x1F] | escape ) | escape )* "<"* "\""
char ::= [^<"\\\x7F\x00-\x1F]
escape ::= "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} )
number ::= "-"? ( [0-9] | [1-9] [0-9]{0,15} ) ( "." [0-9]+ )? ( [eE] [-+]? [0-9] [1-9]{0,15} )?
ws ::= | " " | "\n" [ \t]{0,20}
'''

# What a caller keeps from being sampled with this grammar, so that only `<|call|>` can end the reply.
SUPPRESSED_ENDS: tuple[str, ...] = (RETURN, END_OF_TEXT)


def tool_call_grammar(names: Sequence[str]) -> str:
    """The grammar for a call to one of `names` (function names as declared, without `functions.`)."""
    if not names:
        raise ValueError("a tool call grammar needs at least one function name")
    choices = " | ".join(json.dumps(f"commentary to=functions.{name}") for name in names)
    return (
        "root ::= think? call\n"
        'think ::= <|channel|> "analysis" <|message|> [^<]* <|end|> <|start|> "assistant"\n'
        f'call ::= <|channel|> ( {choices} ) " " <|constrain|> "json" <|message|> object\n'
        + _JSON)
