"""Query cost: how many objects an operation may build, counted before it runs.

Depth, alias and token limits bound a document's size, not its work: 20 aliases of
`topGigs(first: 100)` with a `daily` series over a 398-day range stay within them and build
about 800,000 objects (21 s, 37.5 MB, the event loop held throughout). Like Shopify's query
cost, every object field costs 1 per object it builds, and a list multiplies what is below
it by how many items it may hold: `first` or `limit` (their default when left out), and a
`daily` series by the days of its window (`range`, else the rolling window's 31 days).
Counted with the operation's variables, once per request, before execution.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    value_from_ast,
)
from graphql.pyutils import Undefined
from strawberry.extensions import SchemaExtension

from ..counting.splits import VARIANTS_PER_DAY
from ..counting.windows import MAX_RANGE_DAYS, ROLLING_DAYS
from ..model import Device

# The dashboard's seller page at its largest (10 gigs, each with a 400-day series, and the
# seller's own report) costs about 4,500; a gig's report over 400 days about 1,300. What the
# limit lets through is answered in a fraction of a second, during which the event loop
# serves nothing else (`bench/hostile_clients.py costly-query`).
MAX_COST = 10_000
SIZE_ARGUMENTS = ("first", "limit")
DEFAULT_DAYS = ROLLING_DAYS + 1  # the days a rolling window touches
# Lists without a size argument whose length is bounded otherwise: a device per class, and a
# window's variants (those kept on a day, and the row summing the rest; an experiment's
# variants are the same from day to day).
FIXED_SIZES = {"byDevice": len(Device), "variants": VARIANTS_PER_DAY + 1}


def operation_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any] | None,
) -> int:
    """The objects `operation` may build, at most (see the module's docstring)."""
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    walk = _Walk(fragments, variables or {})
    return walk.cost(root, operation.selection_set, 1, DEFAULT_DAYS)


class _Walk:
    def __init__(
        self, fragments: Mapping[str, FragmentDefinitionNode], variables: Mapping[str, Any]
    ) -> None:
        self.fragments = fragments
        self.variables = dict(variables)

    def cost(
        self, parent: GraphQLObjectType, selections: SelectionSetNode, times: int, days: int
    ) -> int:
        total = 0
        for node, field in self._fields(parent, selections):
            child = get_named_type(field.type)
            if node.selection_set is None or not isinstance(child, GraphQLObjectType):
                continue  # scalars and enums ride with their object
            arguments = self._arguments(field, node)
            inner_days = _days(arguments.get("range"), days)
            size = next((arguments[a] for a in SIZE_ARGUMENTS if a in arguments), None)
            if size is None:
                size = FIXED_SIZES.get(node.name.value)
            many = times * (size if isinstance(size, int) and size > 0 else 1)
            if node.name.value == "daily":
                many *= inner_days
            total += many + self.cost(child, node.selection_set, many, inner_days)
        return total

    def _fields(
        self, parent: GraphQLObjectType, selections: SelectionSetNode
    ) -> Iterator[tuple[FieldNode, GraphQLField]]:
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                field = parent.fields.get(selection.name.value)
                if field is not None:  # __typename and unknown fields cost nothing here
                    yield selection, field
            elif isinstance(selection, InlineFragmentNode):
                yield from self._fields(parent, selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    yield from self._fields(parent, fragment.selection_set)

    def _arguments(self, field: GraphQLField, node: FieldNode) -> dict[str, Any]:
        values: dict[str, Any] = {
            name: arg.default_value for name, arg in field.args.items()
            if arg.default_value is not None and arg.default_value is not Undefined
        }
        for argument in node.arguments or ():
            definition = field.args.get(argument.name.value)
            if definition is None:
                continue
            value = value_from_ast(argument.value, definition.type, self.variables)
            if value is not Undefined:
                values[argument.name.value] = value
        return values


def _days(window: Any, outer: int) -> int:
    """Days of a `range` argument's window (clamped to what a range may hold), else `outer`."""
    start, end = _endpoint(window, "from"), _endpoint(window, "to")
    if start is None or end is None:
        return outer
    return min(max((end - start).days + 1, 1), MAX_RANGE_DAYS)


def _endpoint(window: Any, name: str) -> date | None:
    if window is None:
        return None
    value = window.get(name) if isinstance(window, Mapping) else getattr(window, name, None)
    if value is None and name == "from":
        value = getattr(window, "from_", None)
    if isinstance(value, str):  # a variable's raw JSON value: not yet coerced to a Date
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return None
    return value if isinstance(value, date) else None


class QueryCost(SchemaExtension):
    """Refuses an operation whose cost is over MAX_COST before it runs."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.result is None:
            fragments = {
                d.name.value: d for d in document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            operations = [
                d for d in document.definitions if isinstance(d, OperationDefinitionNode)
                and (context.operation_name is None or (d.name and d.name.value
                                                        == context.operation_name))
            ]
            schema = context.schema._schema
            cost = max(
                (operation_cost(schema, op, fragments, context.variables) for op in operations),
                default=0,
            )
            if cost > MAX_COST:
                context.result = GraphQLExecutionResult(data=None, errors=[too_costly(cost)])
        yield


def too_costly(cost: int) -> GraphQLError:
    """The error of an operation over the cost limit, saying what to change."""
    return GraphQLError(
        f"Query refused by the cost limit: it may build about {cost:,} objects and at most "
        f"{MAX_COST:,} are allowed. Ask for fewer gigs (first), a shorter range, fewer "
        "daily series or fewer aliases, or split it into several requests.",
        extensions={"code": "QUERY_TOO_COMPLEX", "limit": "cost"},
    )
