"""Query limits: depth, aliases and tokens, with errors that name the limit that was hit."""

from __future__ import annotations

import re
from collections.abc import Callable

from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.types import ExecutionResult

MAX_DEPTH = 10
MAX_ALIASES = 20
MAX_TOKENS = 2000

_DEPTH = re.compile(r"'(?P<operation>.*)' exceeds maximum operation depth of (?P<limit>\d+)")
_ALIASES = re.compile(r"(?P<found>\d+) aliases found\. Allowed: (?P<limit>\d+)")
_TOKENS = re.compile(r"Document contains more than (?P<limit>\d+) tokens")


def _depth(m: re.Match[str]) -> tuple[str, str]:
    return "depth", (
        f"Query refused by the depth limit: operation '{m['operation']}' nests selections "
        f"more than {m['limit']} levels below its root fields. Ask for fewer nested fields."
    )


def _aliases(m: re.Match[str]) -> tuple[str, str]:
    return "aliases", (
        f"Query refused by the alias limit: it uses {m['found']} aliases and at most "
        f"{m['limit']} are allowed. Split it into several requests."
    )


def _tokens(m: re.Match[str]) -> tuple[str, str]:
    return "tokens", (
        f"Query refused by the token limit: the document has more than {m['limit']} tokens. "
        "Send a shorter query, and pass long inputs (like event lists) as variables."
    )


_REWRITES: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], tuple[str, str]]], ...] = (
    (_DEPTH, _depth),
    (_ALIASES, _aliases),
    (_TOKENS, _tokens),
)


def reword_limit_errors(result: ExecutionResult) -> None:
    """Reword the limiters' errors in `result` so they say which limit was hit and what to do.

    Done on the finished result: a refused parse (the token limit, raised inside the parser
    cache) never reaches the extensions' `on_operation` with a result to change.
    """
    if result.errors:
        result.errors = [_reworded(error) for error in result.errors]


def _reworded(error: GraphQLError) -> GraphQLError:
    for pattern, explain in _REWRITES:
        match = pattern.search(error.message)
        if match:
            limit, message = explain(match)
            # A new error: the validation cache shares the original between requests.
            return GraphQLError(
                message,
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                extensions={"code": "QUERY_TOO_COMPLEX", "limit": limit},
            )
    return error


# The limiters' validation rules, made once. Each limiter makes a new rule class when it is
# built, and the validation cache is keyed by the rules: built per request, they made every
# request miss the cache and validate its document again (a third of a gig report's time).
_RULES = (
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(MAX_ALIASES).validation_rules,
)


def limit_extensions() -> list[Callable[[], SchemaExtension]]:
    """The limiters, as factories (one fresh extension per request, the same rules)."""
    return [
        lambda: AddValidationRules(list(_RULES)),
        lambda: MaxTokensLimiter(MAX_TOKENS),
    ]
