"""No value is ever formatted into Cypher: an AST check over the product's Python.

Every statement is a file in cypher/, run by name through crossgraph.graph.driver.Graph
(read, write, stream, write_autocommit); only the driver module hands text to Neo4j, and only
the schema module passes statements as text (split out of cypher/schema.cypher)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from crossgraph.graph.queries import CYPHER_DIR

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "src", ROOT / "api", ROOT / "training"]

# Calls that take a query's name; the name must be a plain literal naming a file in cypher/.
NAMED = {"read", "write", "stream", "write_autocommit", "load", "statements"}
NAMED_RECEIVERS = {"graph", "g", "queries"}
# Calls that take a statement's text, and the modules allowed to make them.
# (GraphLink.run in the API takes a function of the graph, not text: `state.graph.run(f)`.)
RAW = {
    "run": {"session", "tx", "transaction"},
    "execute_query": {"driver", "graph", "g", "session"},
    "write_text": {"graph", "g"},
}
RAW_MODULES = {"crossgraph/graph/driver.py", "crossgraph/graph/schema.py"}
# Text that reads as a Cypher statement (a clause keyword, then more of the statement).
CYPHER = re.compile(
    r"^\s*(OPTIONAL\s+MATCH|MATCH|MERGE|CREATE|UNWIND|RETURN|WITH|CALL|DETACH\s+DELETE|DELETE|SHOW|DROP)"
    r"\s+[(\w$`{*]"
)
TEXT_METHODS = {"format", "format_map", "join", "replace"}


def receiver(call: ast.Call) -> str | None:
    """The last name before the method: `state.graph.read(...)` -> "graph"."""
    if not isinstance(call.func, ast.Attribute):
        return None
    value = call.func.value
    if isinstance(value, ast.Name):
        return value.id
    if isinstance(value, ast.Attribute):
        return value.attr
    return None


def query_argument(call: ast.Call) -> ast.expr | None:
    if call.args:
        return call.args[0]
    return next((k.value for k in call.keywords if k.arg in {"query", "name", "statement"}), None)


def built(node: ast.expr) -> str | None:
    """How `node` builds text from values, or None when it does not."""
    if isinstance(node, ast.JoinedStr):
        return "an f-string"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return "% formatting"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return "string concatenation"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in TEXT_METHODS:
        return f".{node.func.attr}()"
    return None


def named_file(name: object) -> bool:
    return isinstance(name, str) and (CYPHER_DIR / f"{name}.cypher").exists()


def docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def cypher_offences(source: str, module: str) -> list[str]:
    """Every place in `source` (the file `module`, relative to src/) that builds or holds
    Cypher text outside cypher/: `module:line: what is wrong`."""
    tree = ast.parse(source)
    skip = docstrings(tree)
    found: list[str] = []

    def offence(node: ast.AST, problem: str) -> None:
        found.append(f"{module}:{getattr(node, 'lineno', 0)}: {problem}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method, owner, query = node.func.attr, receiver(node), query_argument(node)
            graph_call = (method in NAMED and owner in NAMED_RECEIVERS) or owner in RAW.get(method, ())
            if not graph_call or query is None:
                continue
            how = built(query)
            if how:
                offence(node, f"{owner}.{method}() is given a query built with {how}")
            elif method in RAW and module not in RAW_MODULES:
                offence(node, f"{owner}.{method}() runs query text; run a cypher/ file by name instead")
            elif method in NAMED and isinstance(query, ast.Constant) and not named_file(query.value):
                offence(node, f"{owner}.{method}({query.value!r}): no such file in cypher/")
        elif isinstance(node, ast.Constant) and id(node) not in skip and CYPHER.match(str(node.value)):
            offence(node, f"Cypher text in Python: {str(node.value)[:40]!r}; put it in cypher/")
    return found


def source_files() -> list[tuple[Path, str]]:
    files = [path for folder in SOURCES if folder.exists() for path in sorted(folder.rglob("*.py"))]
    return [
        (path, path.relative_to(ROOT / "src").as_posix() if "src" in path.parts else path.name)
        for path in files
    ]


def test_the_product_never_formats_a_value_into_cypher() -> None:
    files = source_files()
    assert any(module == "crossgraph/graph/driver.py" for _, module in files)
    offences = [o for path, module in files for o in cypher_offences(path.read_text(), module)]
    assert offences == []


PLANTED = {
    "optional-match-f-string": (
        'def f(graph, x):\n    return graph.write_text(f"OPTIONAL MATCH (a {{id: {x}}}) RETURN a")\n',
        "built with an f-string",
    ),
    "triple-quoted-f-string": (
        'def f(session, x):\n    session.run(f"""\n        MATCH (a) WHERE a.id = "{x}"\n'
        '        RETURN a\n    """)\n',
        "built with an f-string",
    ),
    "percent": (
        "def f(driver, x):\n    driver.execute_query(\"MATCH (a {id: '%s'}) RETURN a\" % x)\n",
        "built with % formatting",
    ),
    "format": (
        'def f(tx, x):\n    tx.run("MATCH (a) WHERE a.id = {} RETURN a".format(x))\n',
        "built with .format()",
    ),
    "concatenation": (
        'def f(graph, x):\n    graph.write_text("MATCH (a) WHERE a.id = " + x)\n',
        "built with string concatenation",
    ),
    "formatted-name": (
        'def f(graph, kind):\n    return graph.read(f"kpi_{kind}")\n',
        "built with an f-string",
    ),
    "raw-text-outside-the-schema": (
        "def f(graph, statement):\n    graph.write_text(statement)\n",
        "runs query text",
    ),
    "cypher-literal-in-a-variable": (
        'QUERY = "MATCH (a:Account) RETURN a.id"\n',
        "Cypher text in Python",
    ),
    "unknown-query-name": (
        'def f(graph):\n    return graph.read("find_acount", {"id": 1})\n',
        "'find_acount'): no such file in cypher/",
    ),
}


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_the_check_catches_a_planted_offence(name: str) -> None:
    source, problem = PLANTED[name]
    offences = cypher_offences(source, "crossgraph/web/planted.py")
    assert offences and problem in offences[0], offences
    assert offences[0].startswith("crossgraph/web/planted.py:")


def test_the_check_lets_named_queries_parameters_and_other_text_pass() -> None:
    clean = '''
"""MATCH (a) RETURN a: a docstring may quote Cypher."""
def f(graph, path, pid, session, statement, x):
    path.write_text(f"{pid}\\n")
    graph.read("find_account", {"id": x})
    graph.run(lambda g: g.read("count_nodes"))
    message = f"account {x!r} not found"
    return message
'''
    assert cypher_offences(clean, "crossgraph/web/clean.py") == []
    schema = "def init(graph, statement):\n    graph.write_text(statement)\n"
    assert cypher_offences(schema, "crossgraph/graph/schema.py") == []
