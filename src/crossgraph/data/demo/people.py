"""Contacts at the accounts and our touchpoints with them over the last two years.

Bigger accounts have more contacts and more touchpoints; about one contact in twelve has left
(some of them key contacts, a risk the plan flags), and upsell conversations are rarer than
calls and service visits, so many accounts are due one (a worklist flag)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from crossgraph.data.demo.accounts import Accounts
from crossgraph.data.demo.common import YEAR, Calendar, IntArray
from crossgraph.data.demo.vocab import (
    CONTACT_ROLES,
    ENGINEERS,
    GIVEN_NAMES,
    SALES_REPS,
    SURNAMES,
    TOUCHPOINT_NOTES,
)
from crossgraph.data.tables import TOUCHPOINT_TYPES

CONTACTS_PER_SIZE = (1.5, 2.5, 3.5, 5.0)  # mean contacts per account by size band
TOUCHPOINTS_PER_SIZE = (2.0, 4.0, 7.0, 12.0)  # mean touchpoints over two years by size band
LEFT_SHARE = 0.08
TOUCHPOINT_WEIGHTS = (0.17, 0.31, 0.09, 0.12, 0.05, 0.26)  # in TOUCHPOINT_TYPES order
WORKED_SHARE = (0.25, 0.4, 0.55, 0.7)  # accounts with an upsell conversation in the last 6 months
RECENT_TALK_DAYS = 180
HISTORY = 2 * YEAR


@dataclass(frozen=True)
class Contacts:
    account: IntArray
    name: list[str]
    role: list[str]
    influence: list[str]
    email: list[str]
    left: IntArray  # day the contact left, -1 while still there
    ptr: IntArray  # contacts of account i are ptr[i]:ptr[i + 1]

    def __len__(self) -> int:
        return len(self.account)


@dataclass(frozen=True)
class Touchpoints:
    account: IntArray
    contact: IntArray  # -1: no contact named
    kind: list[str]
    day: IntArray
    owner: list[str]
    notes: list[str]

    def __len__(self) -> int:
        return len(self.account)


def account_owner(account: int) -> str:
    """The sales rep who owns the account (and meets it)."""
    return SALES_REPS[account % len(SALES_REPS)]


def build_contacts(rng: np.random.Generator, accounts: Accounts, cal: Calendar) -> Contacts:
    n_acc = len(accounts)
    count = np.maximum(1, rng.poisson(np.asarray(CONTACTS_PER_SIZE)[accounts.size]))
    count = np.minimum(count, len(CONTACT_ROLES))
    account = np.repeat(np.arange(n_acc, dtype=np.int64), count)
    ptr = np.r_[0, np.cumsum(count)].astype(np.int64)
    slot = np.arange(len(account)) - ptr[account]  # 0 = the account's top contact
    given = rng.integers(len(GIVEN_NAMES), size=len(account))
    family = rng.integers(len(SURNAMES), size=len(account))
    left = np.where(
        rng.random(len(account)) < LEFT_SHARE, cal.today - rng.integers(1, HISTORY, len(account)), -1
    ).astype(np.int64)
    names, roles, influence, emails = [], [], [], []
    for i in range(len(account)):
        first, last = GIVEN_NAMES[given[i]], SURNAMES[family[i]]
        role, weight = CONTACT_ROLES[int(slot[i])]
        names.append(f"{first} {last}")
        roles.append(role)
        influence.append(weight)
        emails.append(f"{first}.{last}@{accounts.ids[account[i]].lower()}.example".lower())
    return Contacts(account, names, roles, influence, emails, left, ptr)


def build_touchpoints(
    rng: np.random.Generator, accounts: Accounts, contacts: Contacts, cal: Calendar
) -> Touchpoints:
    count = rng.poisson(np.asarray(TOUCHPOINTS_PER_SIZE)[accounts.size])
    routine = np.repeat(np.arange(len(accounts), dtype=np.int64), count)
    p = np.asarray(TOUCHPOINT_WEIGHTS) / sum(TOUCHPOINT_WEIGHTS)
    # the accounts a rep works actively had an upsell conversation recently
    worked = np.flatnonzero(rng.random(len(accounts)) < np.asarray(WORKED_SHARE)[accounts.size])
    account = np.r_[routine, worked].astype(np.int64)
    n = len(account)
    day = (
        cal.today
        - np.r_[rng.integers(0, HISTORY, len(routine)), rng.integers(0, RECENT_TALK_DAYS, len(worked))]
    )
    talk = TOUCHPOINT_TYPES.index("upsell_conversation")
    kind = np.r_[rng.choice(len(TOUCHPOINT_TYPES), size=len(routine), p=p), np.full(len(worked), talk)]
    order = np.lexsort((day, account))
    account, day, kind = account[order], day[order].astype(np.int64), kind[order]
    draws = rng.random((n, 3))
    contact = np.full(n, -1, dtype=np.int64)
    owners, notes = [], []
    for i in range(n):
        a, d, name = int(account[i]), int(day[i]), TOUCHPOINT_TYPES[kind[i]]
        there = [
            c
            for c in range(int(contacts.ptr[a]), int(contacts.ptr[a + 1]))
            if contacts.left[c] < 0 or contacts.left[c] > d
        ]
        if there and draws[i, 0] < 0.85:
            contact[i] = there[int(draws[i, 1] * len(there))]
        owners.append(ENGINEERS[a % len(ENGINEERS)] if name == "service_visit" else account_owner(a))
        texts = TOUCHPOINT_NOTES[name]
        notes.append(texts[int(draws[i, 2] * len(texts))])
    return Touchpoints(account, contact, [TOUCHPOINT_TYPES[k] for k in kind.tolist()], day, owners, notes)
