"""Contacts and touchpoints in a real graph: loaded like the other files, read into the account's
facts, and turned into the plan's key contacts, last touchpoints, risks and actions
(tests/fixtures/people/README.md says what each row is for)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from crossgraph.errors import InvalidRows
from crossgraph.graph.driver import Graph
from crossgraph.graph.ingest import load_directory
from crossgraph.graph.schema import graph_stats
from crossgraph.intel.signals import AccountSignals, SignalConfig, compute_signals, read_account
from crossgraph.recommend.plan import contacts_section, quarter_actions, touchpoints_section
from tests.conftest import FIXTURES
from tests.integration.snapshot import snapshot

pytestmark = pytest.mark.neo4j

AS_OF = date(2024, 6, 30)


@pytest.fixture
def people(graph: Graph) -> Graph:
    load_directory(graph, FIXTURES / "small")
    load_directory(graph, FIXTURES / "people")
    return graph


def test_contacts_and_touchpoints_load_into_the_graph_model(people: Graph) -> None:
    stats = graph_stats(people)
    assert stats.nodes["Contact"] == 5 and stats.nodes["Touchpoint"] == 7
    assert stats.relationships["HAS_CONTACT"] == 5
    assert stats.relationships["HAD_TOUCHPOINT"] == 7
    assert stats.relationships["WITH"] == 6  # T4 names nobody
    before = snapshot(people)
    load_directory(people, FIXTURES / "people")
    assert snapshot(people) == before


def test_a_touchpoint_with_another_accounts_contact_is_refused(people: Graph, tmp_path: Path) -> None:
    before = snapshot(people)
    folder = tmp_path / "load"
    folder.mkdir()
    (folder / "touchpoints.csv").write_text(
        "id,account_id,contact_id,type,occurred_at,owner,notes\n"
        "T8,A2,P9,call,2024-06-01,m.keller,\n"  # P9 is in neither the file nor the graph
        "T9,A4,P1,meeting,2024-06-02,a.rossi,\n"  # P1 is A1's contact (in the graph)
    )
    with pytest.raises(InvalidRows) as caught:
        load_directory(people, folder)
    problems = {(p.line, p.column): p.problem for p in caught.value.problems}
    assert problems == {
        (2, "contact_id"): "unknown contact 'P9' (not in contacts.csv nor in the graph)",
        (3, "contact_id"): "contact 'P1' is a contact of account 'A1', not of 'A4'",
    }
    assert snapshot(people) == before


def test_a_contact_in_the_same_load_may_be_met_by_a_touchpoint(graph: Graph, tmp_path: Path) -> None:
    folder = tmp_path / "load"
    shutil.copytree(FIXTURES / "small", folder)
    (folder / "contacts.csv").write_text(
        "id,account_id,name,role,influence,email,left_at\nP1,A2,Amy Ng,Buyer,medium,,\n"
    )
    (folder / "touchpoints.csv").write_text(
        "id,account_id,contact_id,type,occurred_at,owner,notes\nT1,A2,P1,quote,2024-06-01,,\n"
    )
    load_directory(graph, folder)
    facts = read_account(graph, "A2")
    assert [(t.id, t.contact_id, t.type) for t in facts.touchpoints] == [("T1", "P1", "quote")]


def test_the_plan_names_key_contacts_and_flags_the_one_who_left(people: Graph) -> None:
    facts = read_account(people, "A1").as_of(AS_OF)
    signals = compute_signals(facts, [], AS_OF)
    left = [r for r in signals.risks if r.flag == "key_contact_left"]
    assert [r.evidence["contact_id"] for r in left] == ["P3"]  # P4 left too, but is no key contact
    assert left[0].reason.startswith(
        "Key contact Karl Brandt (Managing Director) left on 2024-03-31 (91 days"
    )

    contacts = contacts_section(facts, AS_OF)
    assert [(c["id"], c["key"], c["left_at"], c["last_touchpoint"]) for c in contacts] == [
        ("P1", True, None, "2024-02-10"),  # T6 with her is after the day
        ("P2", False, None, "2024-06-05"),
        ("P3", True, "2024-03-31", "2024-01-20"),  # those who left come last
        ("P4", False, "2023-01-15", None),
    ]
    touch = touchpoints_section(facts, AS_OF, SignalConfig())
    assert [t["id"] for t in touch["last"]] == ["T5", "T4", "T3", "T2", "T1"]
    assert touch["last"][0]["contact"] == "Jonas Weber" and touch["last"][1]["contact"] is None
    assert touch["last_upsell_conversation"] == "2023-09-12"
    assert touch["days_since_upsell_conversation"] == 292
    assert touch["upsell_conversation_due"] is True

    actions = [a["action"] for a in quarter_actions([], signals, facts, AS_OF)]
    assert "Upsell conversation: the last was 292 days ago (due every 182 days)" in actions
    assert any(a.startswith("Meet the successor: Key contact Karl Brandt") for a in actions)


def test_upsell_conversations_are_due_only_where_touchpoints_are_kept(people: Graph) -> None:
    a4 = read_account(people, "A4").as_of(AS_OF)
    assert touchpoints_section(a4, AS_OF, SignalConfig())["upsell_conversation_due"] is True
    actions = [a["action"] for a in quarter_actions([], AccountSignals([], [], []), a4, AS_OF)]
    assert "Upsell conversation: none on record (due every 182 days)" in actions
    a2 = read_account(people, "A2").as_of(AS_OF)
    assert touchpoints_section(a2, AS_OF, SignalConfig())["upsell_conversation_due"] is False
    assert quarter_actions([], AccountSignals([], [], []), a2, AS_OF) == []
    # A day after T6, A1's conversation is fresh and nothing is due.
    a1 = read_account(people, "A1").as_of(date(2024, 7, 1))
    assert touchpoints_section(a1, date(2024, 7, 1), SignalConfig())["upsell_conversation_due"] is False
