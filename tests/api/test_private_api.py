"""The fence around graphql-core's and Strawberry's internals (execution/private_api.py): an
upgrade of either library to another minor version fails here until each listed name has been
reviewed and the pin moved; a listed name that is gone fails here; and no module of execution/
(nor schema/build.py) reaches an internal module or private attribute except through the fence.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from importlib.metadata import version
from pathlib import Path

import pytest
import strawberry
from graphql import Executor, GraphQLSchema

from execution import private_api
from execution.executor import PlainFieldExecution
from schema.build import build_schema

ROOT = Path(__file__).resolve().parents[2]
FENCED = [*sorted((ROOT / "execution").glob("*.py")), ROOT / "schema" / "build.py"]
FENCE = ROOT / "execution" / "private_api.py"


@pytest.mark.parametrize("distribution", sorted(private_api.PINNED_MINOR_VERSIONS))
def test_the_installed_minor_versions_are_the_pinned_ones(distribution: str) -> None:
    installed = tuple(int(part) for part in version(distribution).split(".")[:2])
    assert installed == private_api.PINNED_MINOR_VERSIONS[distribution], (
        f"{distribution} {version(distribution)} is installed: review every name of "
        "execution/private_api.py against it, then update PINNED_MINOR_VERSIONS"
    )


# The parameters of each internal Executor method, as the executor calls or overrides it.
EXECUTOR_SIGNATURES = {
    "build_resolve_info": ["self", "field_def", "field_nodes", "parent_type", "path"],
    "collect_subfields": ["self", "return_type", "field_details_list"],
    "complete_awaitable_value": [
        "self",
        "return_type",
        "field_details_list",
        "info",
        "path",
        "result",
        "position_context",
    ],
    "complete_value": [
        "self",
        "return_type",
        "field_details_list",
        "info",
        "path",
        "result",
        "position_context",
    ],
    "execute_field": [
        "self",
        "parent_type",
        "source",
        "field_details_list",
        "path",
        "position_context",
    ],
    "execute_fields": [
        "self",
        "parent_type",
        "source_value",
        "path",
        "grouped_field_set",
        "position_context",
    ],
    "handle_field_error": ["self", "raw_error", "return_type", "field_details_list", "path"],
    "settle_in_background": ["self", "awaitables"],
    "track_async_work": ["self", "values"],
}


def test_every_listed_executor_method_exists_with_its_parameters() -> None:
    assert sorted(EXECUTOR_SIGNATURES) == sorted(private_api.EXECUTOR_METHODS)
    base = private_api.StrawberryExecutionContext
    assert issubclass(base, Executor)
    for name, parameters in EXECUTOR_SIGNATURES.items():
        method = getattr(Executor, name)
        assert list(inspect.signature(method).parameters) == parameters, name
        assert getattr(base, name) is method or name == "build_resolve_info", (
            f"Strawberry overrides {name} now: review the executor"
        )
    assert set(private_api.EXECUTOR_ATTRIBUTES) <= set(inspect.get_annotations(Executor))


def test_every_other_listed_name_exists() -> None:
    from graphql.execution.collect_fields import FieldDetails

    assert {"node", "fragment_variable_values"} <= set(FieldDetails._fields)
    assert private_api.STRAWBERRY_DEFINITION == "strawberry-definition"
    schema = build_schema()
    graphql_schema = private_api.graphql_schema_of(schema)
    assert isinstance(graphql_schema, GraphQLSchema)
    assert private_api.strawberry_schema_of(graphql_schema) is schema
    post = graphql_schema.get_type("Post")
    media = graphql_schema.get_type("Media")
    assert post is not None
    assert media is not None
    like_count = private_api.strawberry_field_of(post.fields["likeCount"])  # type: ignore[attr-defined]
    assert isinstance(like_count, private_api.StrawberryField)
    image = private_api.strawberry_field_of(media.fields["image"])  # type: ignore[attr-defined]
    assert image is not None
    assert isinstance(image.base_resolver, private_api.StrawberryResolver)
    for attribute in ("self_parameter", "info_parameter", "root_parameter", "parent_parameter"):
        assert hasattr(image.base_resolver, attribute), attribute
    for attribute in ("base_resolver", "extensions", "is_async", "python_name", "arguments"):
        assert hasattr(image, attribute), attribute
    assert image.default_resolver is getattr
    min_width = private_api.strawberry_argument_of(media.fields["image"].args["minWidth"])  # type: ignore[attr-defined]
    assert min_width is not None
    assert min_width.python_name == "min_width"
    assert private_api.strawberry_definition_of(post) is not None
    assert hasattr(schema, "exception_handlers")
    for name in ("MaybeNullValidationRule", "OneOfInputValidationRule"):
        assert inspect.isclass(getattr(private_api, name)), name
    for name in ("CannotGetOperationTypeError", "InvalidOperationTypeError"):
        assert issubclass(getattr(private_api, name), Exception), name


def _imported_names(tree: ast.Module) -> list[tuple[str, str]]:
    """(module, name) of every `from graphql... / strawberry... import name` of the tree."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            root = node.module.split(".")[0]
            if root in {"graphql", "strawberry"}:
                found.extend((node.module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in {"graphql", "strawberry"}:
                    found.append((alias.name, ""))
    return found


DOCUMENTED_IMPORTS = {("strawberry.schema.config", "StrawberryConfig")}
"""Public by the library's documentation though deeper than a subpackage (Strawberry's "Schema
configurations" page imports StrawberryConfig from there)."""


def _is_public(module: str, name: str) -> bool:
    """Whether `module` is a library's top-level package or one of its subpackages, and
    exports `name` in its `__all__`, or the import is one the library documents."""
    if (module, name) in DOCUMENTED_IMPORTS:
        return True
    parts = module.split(".")
    if len(parts) > 2:
        return False
    if not name:
        return True
    imported = importlib.import_module(module)
    return name in getattr(imported, "__all__", ())


@pytest.mark.parametrize("path", FENCED, ids=lambda path: str(path.relative_to(ROOT)))
def test_internals_are_reached_only_through_the_fence(path: Path) -> None:
    if path == FENCE:
        return
    tree = ast.parse(path.read_text(), str(path))
    internal = [
        f"{module}.{name}" for module, name in _imported_names(tree) if not _is_public(module, name)
    ]
    assert internal == [], f"import these through execution/private_api.py: {internal}"
    private_reads = [
        f"line {node.lineno}: .{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and not (isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"})
    ]
    assert private_reads == [], f"private attributes read outside the fence: {private_reads}"
    overridden = [
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        and node.name.startswith("_")
        and not node.name.startswith("__")
        and hasattr(strawberry.Schema, node.name)
    ]
    assert overridden == [], f"private Strawberry methods overridden: {overridden}"


def test_every_base_class_name_the_executor_uses_is_listed() -> None:
    """The executor's `self.x` reads of names it does not define itself are listed in the
    fence (internal methods) or documented executor attributes."""
    tree = ast.parse((ROOT / "execution" / "executor.py").read_text())
    used = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    }
    inherited = {
        name
        for name in used
        if hasattr(private_api.StrawberryExecutionContext, name)
        or name in inspect.get_annotations(Executor)
    }
    own = set(vars(PlainFieldExecution))
    listed = set(private_api.EXECUTOR_METHODS) | set(private_api.EXECUTOR_ATTRIBUTES)
    assert inherited - own - listed == set()
