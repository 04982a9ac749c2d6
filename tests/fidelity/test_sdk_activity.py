"""Related records, notes, the recycle bin, record count, mass update, lead conversion and
If-Modified-Since on records, through the official SDK's own operations and models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.fidelity.sdk import SDKSession
from zohocrmsdk.src.com.zoho.crm.api import convert_lead as zconvert
from zohocrmsdk.src.com.zoho.crm.api import notes as znotes
from zohocrmsdk.src.com.zoho.crm.api import related_records as zrelated
from zohocrmsdk.src.com.zoho.crm.api.header_map import HeaderMap
from zohocrmsdk.src.com.zoho.crm.api.modules import MinifiedModule
from zohocrmsdk.src.com.zoho.crm.api.parameter_map import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.record import (
    CountWrapper,
    DeletedRecord,
    DeletedRecordsWrapper,
    GetDeletedRecordsHeader,
    GetDeletedRecordsParam,
    GetMassUpdateStatusParam,
    GetRecordHeader,
    GetRecordsHeader,
    GetRecordsParam,
    MassUpdate,
    MassUpdateBodyWrapper,
    MassUpdateResponseWrapper,
    MassUpdateSuccessResponse,
    Record,
    RecordCountParam,
    RecordOperations,
)
from zohocrmsdk.src.com.zoho.crm.api.util import APIResponse, Choice

from sergas.sandbox.backend import Sandbox

pytestmark = pytest.mark.sdk


def called(response: APIResponse | None, status: int = 200) -> Any:
    assert response is not None, "the SDK swallowed an exception (see its log)"
    assert response.get_status_code() == status, response.get_object()
    return response.get_object()


def backend(sdk: SDKSession) -> Sandbox:
    return sdk.running.sandbox


def account_with(sdk: SDKSession, module: str, field: str) -> dict[str, Any]:
    store = backend(sdk).store
    for child in store.all(module):
        link = child.get(field)
        if isinstance(link, dict) and child.get("$se_module", "Accounts") == "Accounts":
            found = store.get("Accounts", link["id"])
            if found is not None:
                return dict(found)
    raise AssertionError(f"no account has {module}")


def children(sdk: SDKSession, module: str, field: str, parent_id: str) -> set[str]:
    return {
        r["id"]
        for r in backend(sdk).store.all(module)
        if (r.get(field) or {}).get("id") == parent_id
        and r.get("$se_module", "Accounts") == "Accounts"
    }


def fields(names: str) -> ParameterMap:
    found = ParameterMap()
    found.add(zrelated.GetRelatedRecordsParam.fields, names)
    return found


# -- related records -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("related", "field", "names"),
    [
        ("Contacts", "Account_Name", "Full_Name,Email"),
        ("Deals", "Account_Name", "Deal_Name,Stage,Amount"),
        ("Calls", "What_Id", "Subject,Call_Start_Time,What_Id"),
        ("Events", "What_Id", "Event_Title,Start_DateTime"),
        ("Notes", "Parent_Id", "Note_Title,Note_Content,Parent_Id"),
    ],
)
def test_related_records_of_an_account(
    sdk: SDKSession, related: str, field: str, names: str
) -> None:
    account = account_with(sdk, related, field)
    ops = zrelated.RelatedRecordsOperations(related, "Accounts")
    wrapper = called(ops.get_related_records(int(account["id"]), fields(names)))
    assert isinstance(wrapper, zrelated.ResponseWrapper)
    records = wrapper.get_data()
    assert all(isinstance(r, Record) for r in records)
    assert {str(r.get_id()) for r in records} == children(sdk, related, field, account["id"])
    assert wrapper.get_info().get_more_records() is False


def test_one_related_record(sdk: SDKSession) -> None:
    account = account_with(sdk, "Contacts", "Account_Name")
    contact_id = next(iter(children(sdk, "Contacts", "Account_Name", account["id"])))
    ops = zrelated.RelatedRecordsOperations("Contacts", "Accounts")
    found = ParameterMap()
    found.add(zrelated.GetRelatedRecordParam.fields, "Full_Name")
    wrapper = called(ops.get_related_record(int(contact_id), int(account["id"]), found))
    [record] = wrapper.get_data()
    assert str(record.get_id()) == contact_id


def test_relate_and_delink(sdk: SDKSession) -> None:
    store = backend(sdk).store
    account = account_with(sdk, "Contacts", "Account_Name")
    other = next(c for c in store.all("Contacts") if c["Account_Name"]["id"] != account["id"])
    ops = zrelated.RelatedRecordsOperations("Contacts", "Accounts")
    body = zrelated.BodyWrapper()
    moved = Record()
    moved.set_id(int(other["id"]))
    body.set_data([moved])
    wrapper = called(ops.update_related_records(int(account["id"]), body))
    [item] = wrapper.get_data()
    assert isinstance(item, zrelated.SuccessResponse)
    assert item.get_message().get_value() == "relation added"
    assert store.get("Contacts", other["id"])["Account_Name"]["id"] == account["id"]

    delink = ParameterMap()
    delink.add(zrelated.DelinkRecordsParam.ids, other["id"])
    wrapper = called(ops.delink_records(int(account["id"]), delink))
    assert wrapper.get_data()[0].get_message().get_value() == "relation removed"
    assert store.get("Contacts", other["id"])["Account_Name"] is None


def test_related_records_not_modified_since(sdk: SDKSession) -> None:
    account = account_with(sdk, "Calls", "What_Id")
    headers = HeaderMap()
    headers.add(zrelated.GetRelatedRecordsHeader.if_modified_since, datetime.now(UTC))
    ops = zrelated.RelatedRecordsOperations("Calls", "Accounts")
    response = ops.get_related_records(int(account["id"]), fields("Subject"), headers)
    assert called(response, 304) is None


# -- notes ---------------------------------------------------------------------------------------


def test_notes_list_and_create(sdk: SDKSession) -> None:
    ops = znotes.NotesOperations()
    found = ParameterMap()
    found.add(znotes.GetNotesParam.fields, "Note_Title,Note_Content,Parent_Id")
    found.add(znotes.GetNotesParam.per_page, "5")
    wrapper = called(ops.get_notes(found))
    assert isinstance(wrapper, znotes.ResponseWrapper)
    notes = wrapper.get_data()
    assert len(notes) == 5 and all(isinstance(n, znotes.Note) for n in notes)
    parent = notes[0].get_parent_id()
    assert parent.get_module().get_api_name() in ("Accounts", "Deals")

    deal = next(backend(sdk).store.all("Deals"))
    note = znotes.Note()
    note.set_note_title("Pricing")
    note.set_note_content("Asked for a multi-year discount.")
    parent_id = znotes.ParentId()
    module = MinifiedModule()
    module.set_api_name("Deals")
    parent_id.set_module(module)
    parent_id.set_id(int(deal["id"]))
    note.set_parent_id(parent_id)
    body = znotes.BodyWrapper()
    body.set_data([note])
    created = called(ops.create_notes(body), 201)
    [item] = created.get_data()
    assert isinstance(item, znotes.SuccessResponse)
    stored = backend(sdk).store.get("Notes", str(item.get_details()["id"]))
    assert stored is not None
    assert stored["Parent_Id"]["id"] == deal["id"]
    assert stored["Parent_Id"]["module"]["api_name"] == "Deals"


# -- the recycle bin -----------------------------------------------------------------------------


def test_deleted_records(sdk: SDKSession) -> None:
    ops = RecordOperations("Accounts")
    account = next(backend(sdk).store.all("Accounts"))
    called(ops.delete_record(int(account["id"])))
    found = ParameterMap()
    found.add(GetDeletedRecordsParam.type, "recycle")
    wrapper = called(ops.get_deleted_records(found))
    assert isinstance(wrapper, DeletedRecordsWrapper)
    [first, *_] = wrapper.get_data()
    assert isinstance(first, DeletedRecord)
    assert str(first.get_id()) == account["id"]
    assert first.get_display_name() == account["Account_Name"]
    assert first.get_type() == "recycle"
    assert isinstance(first.get_deleted_time(), datetime)

    headers = HeaderMap()
    headers.add(GetDeletedRecordsHeader.if_modified_since, datetime.now(UTC) + timedelta(days=1))
    assert called(ops.get_deleted_records(found, headers), 304) is None


# -- count, mass update ---------------------------------------------------------------------------


def test_record_count(sdk: SDKSession) -> None:
    ops = RecordOperations("Accounts")
    everything = called(ops.record_count())
    assert isinstance(everything, CountWrapper)
    assert everything.get_count() == backend(sdk).store.count("Accounts")
    found = ParameterMap()
    found.add(RecordCountParam.criteria, "(Rating:equals:Active)")
    active = called(ops.record_count(found)).get_count()
    expected = sum(1 for a in backend(sdk).store.all("Accounts") if a["Rating"] == "Active")
    assert active == expected and 0 < active < everything.get_count()


def test_mass_update_and_its_status(sdk: SDKSession) -> None:
    ops = RecordOperations("Accounts")
    ids = [a["id"] for a in list(backend(sdk).store.all("Accounts"))[:3]]
    body = MassUpdateBodyWrapper()
    values = Record()
    values.add_key_value("Rating", Choice("Acquired"))
    body.set_data([values])
    body.set_ids(ids)
    wrapper = called(ops.mass_update_records(body), 202)
    [item] = wrapper.get_data()
    assert isinstance(item, MassUpdateSuccessResponse)
    job_id = str(item.get_details()["job_id"])
    assert all(backend(sdk).store.get("Accounts", i)["Rating"] == "Acquired" for i in ids)

    found = ParameterMap()
    found.add(GetMassUpdateStatusParam.job_id, job_id)
    status = called(ops.get_mass_update_status(found))
    assert isinstance(status, MassUpdateResponseWrapper)
    [job] = status.get_data()
    assert isinstance(job, MassUpdate)
    assert job.get_status().get_value() == "COMPLETED"
    assert (job.get_updated_count(), job.get_total_count()) == (3, 3)


# -- lead conversion --------------------------------------------------------------------------


def test_convert_lead(sdk: SDKSession) -> None:
    store = backend(sdk).store
    lead = next(store.all("Leads"))
    converter = zconvert.LeadConverter()
    deal = Record()
    deal.add_key_value("Deal_Name", "Converted renewal")
    deal.add_key_value("Stage", Choice("Qualification"))
    deal.add_key_value("Closing_Date", (datetime.now(UTC) + timedelta(days=60)).date())
    converter.set_deals(deal)
    body = zconvert.BodyWrapper()
    body.set_data([converter])
    wrapper = called(zconvert.ConvertLeadOperations(int(lead["id"])).convert_lead(body))
    [item] = wrapper.get_data()
    assert isinstance(item, zconvert.SuccessResponse)
    details = item.get_details()
    # The SDK reads each created record into its own Record model.
    assert all(isinstance(details[k], Record) for k in ("Contacts", "Deals", "Accounts"))
    contact = store.get("Contacts", str(details["Contacts"].get_id()))
    assert contact is not None and contact["Email"] == lead["Email"]
    deal_id = str(details["Deals"].get_id())
    assert store.get("Deals", deal_id)["Deal_Name"] == "Converted renewal"
    assert contact["Account_Name"]["id"] == str(details["Accounts"].get_id())
    assert store.get("Leads", lead["id"]) is None

    again = called(zconvert.ConvertLeadOperations(int(lead["id"])).convert_lead(body), 400)
    assert again.get_code().get_value() == "ID_ALREADY_CONVERTED"


# -- If-Modified-Since on records ----------------------------------------------------------------


def test_records_not_modified_since(sdk: SDKSession) -> None:
    ops = RecordOperations("Accounts")
    found = ParameterMap()
    found.add(GetRecordsParam.fields, "Account_Name")
    later = HeaderMap()
    later.add(GetRecordsHeader.if_modified_since, datetime.now(UTC) + timedelta(days=1))
    assert called(ops.get_records(found, later), 304) is None
    account = next(backend(sdk).store.all("Accounts"))
    one = HeaderMap()
    one.add(GetRecordHeader.if_modified_since, datetime.now(UTC) + timedelta(days=1))
    assert called(ops.get_record(int(account["id"]), None, one), 304) is None
    earlier = HeaderMap()
    earlier.add(GetRecordsHeader.if_modified_since, datetime(2001, 1, 1, tzinfo=UTC))
    records = called(ops.get_records(found, earlier)).get_data()
    assert len(records) == min(200, backend(sdk).store.count("Accounts"))
