"""The schema is a contract: `schema.graphql` is what is served, and all of it is described."""

from __future__ import annotations

from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    build_schema,
    print_ast,
)

from server.api import schema_sdl

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_file_is_the_served_schema() -> None:
    assert SCHEMA_FILE.exists(), "no schema.graphql: run `gigmetrics schema -o schema.graphql`"
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_sdl(), (
        "schema.graphql differs from the served schema: run `gigmetrics schema -o schema.graphql`"
    )


def test_sdl_ends_with_a_newline() -> None:
    assert schema_sdl().endswith("}\n")


def test_every_type_field_argument_and_value_is_described() -> None:
    schema = build_schema(schema_sdl())
    missing: list[str] = []
    for name, kind in schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Float", "Boolean", "ID"}:
            continue
        if not kind.description:
            missing.append(name)
        if isinstance(kind, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in kind.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                missing += [
                    f"{name}.{field_name}({arg})"
                    for arg, value in field.args.items() if not value.description
                ]
        elif isinstance(kind, GraphQLInputObjectType):
            missing += [f"{name}.{f}" for f, v in kind.fields.items() if not v.description]
        elif isinstance(kind, GraphQLEnumType):
            missing += [f"{name}.{v}" for v, d in kind.values.items() if not d.description]
        else:
            assert isinstance(kind, GraphQLScalarType)
    assert missing == []


def test_the_pinned_fields_are_there() -> None:
    schema = build_schema(schema_sdl())
    query = schema.query_type
    assert query is not None
    gig_metrics = query.fields["gigMetrics"]
    assert str(gig_metrics.type) == "GigMetrics!"
    assert {a: str(v.type) for a, v in gig_metrics.args.items()} == {
        "gigId": "ID!", "range": "DateRangeInput", "timeZone": "String"
    }
    fields = schema.type_map["GigMetrics"].fields  # type: ignore[union-attr]
    assert {f: str(v.type) for f, v in fields.items() if f not in {"window"}} == {
        "gigId": "ID!",
        "servedImpressions": "Int!",
        "viewableImpressions": "Int!",
        "clicks": "Int!",
        "views": "Int!",
        "ctr": "Float",
        "viewableCtr": "Float",
        "viewabilityRate": "Float",
        "averagePosition": "Float",
        "daily": "[DailyMetrics!]!",
        "bySurface": "[SurfaceMetrics!]!",
        "previousPeriod": "GigMetrics",
        "byContext": "[ContextMetrics!]!",
        "invalidTraffic": "[InvalidTraffic!]!",
        "orders": "Int!",
        "conversionRate": "Float",
        "revenue": "[Revenue!]!",
        "variants": "[VariantMetrics!]!",
        "byDevice": "[DeviceMetrics!]!",
    }
    assert {a: str(v.type) for a, v in fields["variants"].args.items()} == {"baseline": "String"}
    for name in ("DailyMetrics", "SurfaceMetrics", "ContextMetrics"):
        assert str(schema.type_map[name].fields["orders"].type) == "Int!"  # type: ignore[union-attr]
    revenue = schema.type_map["Revenue"].fields  # type: ignore[union-attr]
    assert {f: str(v.type) for f, v in revenue.items()}.items() >= {
        "currency": "String!", "amount": "Float!"
    }.items()
    variant = schema.type_map["VariantMetrics"].fields  # type: ignore[union-attr]
    assert {f: str(v.type) for f, v in variant.items()}.items() >= {
        "variant": "String!", "servedImpressions": "Int!", "viewableImpressions": "Int!",
        "clicks": "Int!", "ctr": "Float", "viewableCtr": "Float", "orders": "Int!",
        "isBaseline": "Boolean!", "ctrChange": "Float", "significant": "Boolean!",
    }.items()
    device = schema.type_map["DeviceMetrics"].fields  # type: ignore[union-attr]
    assert {f: str(v.type) for f, v in device.items()}.items() >= {
        "device": "Device!", "servedImpressions": "Int!", "viewableImpressions": "Int!",
        "clicks": "Int!", "ctr": "Float", "viewableCtr": "Float", "viewabilityRate": "Float",
    }.items()
    assert list(schema.type_map["Device"].values) == [  # type: ignore[union-attr]
        "DESKTOP", "MOBILE", "TABLET", "OTHER"
    ]
    invalid = schema.type_map["InvalidTraffic"].fields  # type: ignore[union-attr]
    assert {f: str(v.type) for f, v in invalid.items()}.items() >= {
        "reason": "String!", "kind": "String!", "events": "Int!"
    }.items()
    by_context = fields["byContext"]
    assert {
        a: (str(v.type), print_ast(v.ast_node.default_value))  # type: ignore[union-attr,arg-type]
        for a, v in by_context.args.items()
    } == {"first": ("Int", "10"), "surface": ("Surface", "null")}
    context = schema.type_map["ContextMetrics"].fields  # type: ignore[union-attr]
    assert {
        "context", "surface", "servedImpressions", "viewableImpressions", "clicks", "ctr",
        "viewableCtr", "viewabilityRate", "averagePosition",
    } <= set(context)
    surface = schema.type_map["Surface"]
    assert list(surface.values) == [  # type: ignore[union-attr]
        "SEARCH", "CATEGORY", "HOMEPAGE", "USER_PAGE", "OTHER"
    ]
    record = schema.mutation_type.fields["recordEvents"]  # type: ignore[union-attr]
    assert str(record.type) == "RecordEventsResult!"
    assert {a: str(v.type) for a, v in record.args.items()} == {
        "events": "[EventInput!]!", "sentAt": "Float"
    }
    date_range = schema.type_map["DateRangeInput"].fields  # type: ignore[union-attr]
    assert {f: str(v.type) for f, v in date_range.items()} == {"from": "Date!", "to": "Date!"}
