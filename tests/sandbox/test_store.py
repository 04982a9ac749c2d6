"""The sandbox's record store with a state file: what a restarted sandbox reads back, a module
at a time (on first use), including a write to a module not read yet."""

from __future__ import annotations

from pathlib import Path

from sergas.sandbox.store import RecordStore


def _records(store: RecordStore, *names: str) -> list[dict[str, str]]:
    return [{"id": store.new_id(), "Name": name} for name in names]


def test_a_restarted_store_reads_each_module_back_when_used(tmp_path: Path) -> None:
    path = tmp_path / "crm.sqlite3"
    first = RecordStore(["Accounts", "Contacts", "Deals"], path)
    assert first.load() is False  # nothing stored yet
    accounts = _records(first, "a", "b", "c")
    contacts = _records(first, "x", "y")
    first.put_many("Accounts", accounts)
    first.put_many("Contacts", contacts)
    first.delete("Accounts", accounts[1]["id"])
    first.close()

    second = RecordStore(["Accounts", "Contacts", "Deals"], path)
    assert second.load() is True
    # A write to a module not read yet joins what the file holds.
    later = _records(second, "z")
    second.put_many("Contacts", later)
    assert [r["Name"] for r in second.all("Contacts")] == ["x", "y", "z"]
    assert [r["Name"] for r in second.ordered("Accounts")] == ["a", "c"]
    assert second.get("Accounts", accounts[1]["id"]) is None
    assert second.count("Deals") == 0
    assert int(second.new_id()) > int(later[0]["id"])  # ids keep growing across restarts
    second.close()

    third = RecordStore(["Accounts", "Contacts", "Deals"], path)
    assert third.load() is True
    assert third.count("Contacts") == 3 and third.count("Accounts") == 2
    third.clear()
    assert third.count("Contacts") == 0
    third.close()
