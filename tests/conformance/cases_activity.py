"""Conformance cases: leads, notes, calls and meetings; related records; lead conversion;
record count; the recycle bin; mass update; custom views and If-Modified-Since on records."""

from __future__ import annotations

from typing import Any

import httpx2
from tests.conformance.cases import RECORD, RECORDS, UNKNOWN_ID, Ctx, case

R = "record.json"
LIST = (R, RECORDS, "get", "get_records")
GET = (R, RECORD, "get", "get_record")
CREATE = (R, RECORDS, "post", "create_records")
LATER = {"If-Modified-Since": "2031-01-01T00:00:00+00:00"}
EARLIER = {"If-Modified-Since": "2001-01-01T00:00:00+00:00"}
RELATED_PATH = "/crm/v8/{module_api_name}/{id}/{related_list_api_name}"
RELATED = (
    "related_records.json (crm-oas v8.0) is not in the shared set; record.json describes the "
    "same request and body: Get Records for GET /{module}/{id}/{list} (fields, page, "
    "per_page, ids, sort; a {data, info} page), Update Records for PUT (a data list of ids) "
    "and Delete Records for DELETE (ids), with per-record results"
)
NOTES = (
    "notes.json (crm-oas v8.0) is not in the shared set; Notes is a module, and record.json "
    "describes its records API (Get Records, Create Records) and bodies"
)
CONVERT = (
    "convert_lead.json (crm-oas v8.0) is not in the shared set; record.json's Create Records "
    "describes the same envelope: a data list of one object in, per-record results out"
)


def _store(c: Ctx) -> Any:
    return c.sandbox.store


def _with(c: Ctx, module: str, field: str) -> dict[str, Any]:
    """An account that has related records in `module` through `field`."""
    for child in _store(c).all(module):
        link = child.get(field)
        if isinstance(link, dict) and child.get("$se_module", "Accounts") == "Accounts":
            found = _store(c).get("Accounts", link["id"])
            if found is not None:
                return dict(found)
    raise AssertionError(f"no account has {module}")


# -- the new modules through the Records API ------------------------------------------------------

for _module, _fields in (
    ("Leads", "Full_Name,Company,Email,Lead_Status,Owner,Created_Time"),
    ("Calls", "Subject,Call_Type,Call_Start_Time,Call_Duration,What_Id,Who_Id,Owner"),
    ("Events", "Event_Title,Start_DateTime,End_DateTime,What_Id,Who_Id,Owner"),
):

    def _list(c: Ctx, module: str = _module, fields: str = _fields) -> Any:
        return c.client.get(f"/crm/v8/{module}", params={"fields": fields, "per_page": 5})

    case(*LIST, _module.lower(), 200)(_list)


@case(*LIST, "notes", 200, stand_in=NOTES)
async def _(c: Ctx) -> httpx2.Response:
    params = {"fields": "Note_Title,Note_Content,Parent_Id,Owner", "per_page": 5}
    return await c.client.get("/crm/v8/Notes", params=params)


@case(*GET, "note", 200, stand_in=NOTES)
async def _(c: Ctx) -> httpx2.Response:
    note = next(_store(c).all("Notes"))
    return await c.client.get(f"/crm/v8/Notes/{note['id']}")


@case(*CREATE, "call_on_an_account", 201)
async def _(c: Ctx) -> httpx2.Response:
    account = next(_store(c).all("Accounts"))
    call = {
        "Subject": "Renewal call",
        "Call_Type": "Outbound",
        "Call_Start_Time": "2026-03-01T10:00:00+00:00",
        "What_Id": {"id": account["id"]},
        "$se_module": "Accounts",
    }
    return await c.client.post("/crm/v8/Calls", json={"data": [call]})


@case(*CREATE, "call_without_se_module", 400)
async def _(c: Ctx) -> httpx2.Response:
    account = next(_store(c).all("Accounts"))
    call = {
        "Subject": "Renewal call",
        "Call_Type": "Outbound",
        "Call_Start_Time": "2026-03-01T10:00:00+00:00",
        "What_Id": {"id": account["id"]},
    }
    return await c.client.post("/crm/v8/Calls", json={"data": [call]})


@case(*CREATE, "note_on_a_deal", 201, stand_in=NOTES)
async def _(c: Ctx) -> httpx2.Response:
    deal = next(_store(c).all("Deals"))
    note = {
        "Note_Title": "Pricing",
        "Note_Content": "Asked for a discount.",
        "Parent_Id": {"module": {"api_name": "Deals"}, "id": deal["id"]},
    }
    return await c.client.post("/crm/v8/Notes", json={"data": [note]})


# -- custom views and If-Modified-Since on record lists ------------------------------------------


async def _view(c: Ctx, module: str, name: str) -> str:
    views = await c.client.get("/crm/v8/settings/custom_views", params={"module": module})
    found: str = next(v["id"] for v in views.json()["custom_views"] if v["name"] == name)
    return found


@case(*LIST, "by_custom_view", 200)
async def _(c: Ctx) -> httpx2.Response:
    cvid = await _view(c, "Deals", "Open Deals")
    params = {"fields": "Deal_Name,Stage", "cvid": cvid, "per_page": 10}
    return await c.client.get("/crm/v8/Deals", params=params)


@case(*LIST, "unknown_custom_view", 400)
async def _(c: Ctx) -> httpx2.Response:
    params = {"fields": "Account_Name", "cvid": UNKNOWN_ID}
    return await c.client.get("/crm/v8/Accounts", params=params)


@case(*LIST, "modified_since", 200)
async def _(c: Ctx) -> httpx2.Response:
    params = {"fields": "Account_Name,Modified_Time", "per_page": 3}
    return await c.client.get("/crm/v8/Accounts", params=params, headers=EARLIER)


@case(*LIST, "not_modified_since", 304)
async def _(c: Ctx) -> httpx2.Response:
    params = {"fields": "Account_Name", "per_page": 3}
    return await c.client.get("/crm/v8/Accounts", params=params, headers=LATER)


@case(*GET, "not_modified_since", 304)
async def _(c: Ctx) -> httpx2.Response:
    [record_id] = await c.account_ids(1)
    return await c.client.get(f"/crm/v8/Accounts/{record_id}", headers=LATER)


# -- related records ---------------------------------------------------------------------------

RELATED_GET = (R, RECORDS, "get", "get_records")
for _list_name, _field, _fields in (
    ("Contacts", "Account_Name", "Full_Name,Email,Title"),
    ("Deals", "Account_Name", "Deal_Name,Stage,Amount,Closing_Date"),
    ("Notes", "Parent_Id", "Note_Title,Note_Content,Created_Time"),
    ("Calls", "What_Id", "Subject,Call_Start_Time,Call_Type"),
    ("Events", "What_Id", "Event_Title,Start_DateTime"),
    ("Tasks", "What_Id", "Subject,Status,Due_Date"),
):

    async def _related(
        c: Ctx, related: str = _list_name, field: str = _field, fields: str = _fields
    ) -> httpx2.Response:
        account = _with(c, related, field)
        return await c.client.get(
            f"/crm/v8/Accounts/{account['id']}/{related}", params={"fields": fields}
        )

    case(*RELATED_GET, f"related_{_list_name.lower()}", 200, stand_in=RELATED)(_related)


@case(*RELATED_GET, "related_list_unknown", 400, stand_in=RELATED)
async def _(c: Ctx) -> httpx2.Response:
    [record_id] = await c.account_ids(1)
    params = {"fields": "Subject"}
    return await c.client.get(f"/crm/v8/Accounts/{record_id}/Shoes", params=params)


@case(*RELATED_GET, "related_parent_unknown", 404, stand_in=RELATED)
async def _(c: Ctx) -> httpx2.Response:
    params = {"fields": "Full_Name"}
    return await c.client.get(f"/crm/v8/Accounts/{UNKNOWN_ID}/Contacts", params=params)


@case(*RELATED_GET, "related_none", 204, stand_in=RELATED)
async def _(c: Ctx) -> httpx2.Response:
    created = await c.client.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "Alone"}]})
    record_id = created.json()["data"][0]["details"]["id"]
    params = {"fields": "Full_Name"}
    return await c.client.get(f"/crm/v8/Accounts/{record_id}/Contacts", params=params)


@case(R, RECORDS, "put", "update_records", "relate", 200, stand_in=RELATED)
async def _(c: Ctx) -> httpx2.Response:
    [record_id] = await c.account_ids(1)
    contact = next(_store(c).all("Contacts"))
    body = {"data": [{"id": contact["id"]}]}
    return await c.client.put(f"/crm/v8/Accounts/{record_id}/Contacts", json=body)


@case(R, RECORDS, "put", "update_records", "relate_unknown", 400, stand_in=RELATED)
async def _(c: Ctx) -> httpx2.Response:
    [record_id] = await c.account_ids(1)
    body = {"data": [{"id": UNKNOWN_ID}]}
    return await c.client.put(f"/crm/v8/Accounts/{record_id}/Contacts", json=body)


@case(R, RECORDS, "delete", "delete_records", "delink", 200, stand_in=RELATED)
async def _(c: Ctx) -> httpx2.Response:
    account = _with(c, "Contacts", "Account_Name")
    contact = next(r for r in _store(c).all("Contacts") if r["Account_Name"]["id"] == account["id"])
    return await c.client.delete(
        f"/crm/v8/Accounts/{account['id']}/Contacts", params={"ids": contact["id"]}
    )


@case(*CREATE, "add_note_to_a_record", 201, stand_in=NOTES)
async def _(c: Ctx) -> httpx2.Response:
    [record_id] = await c.account_ids(1)
    body = {"data": [{"Note_Title": "QBR", "Note_Content": "Renewal is on track."}]}
    return await c.client.post(f"/crm/v8/Accounts/{record_id}/Notes", json=body)


# -- lead conversion --------------------------------------------------------------------------


@case(*CREATE, "convert_lead", 200, stand_in=CONVERT)
async def _(c: Ctx) -> httpx2.Response:
    lead = next(_store(c).all("Leads"))
    body = {
        "data": [
            {
                "Deals": {
                    "Deal_Name": "Converted deal",
                    "Stage": "Qualification",
                    "Closing_Date": "2027-01-31",
                }
            }
        ]
    }
    return await c.client.post(f"/crm/v8/Leads/{lead['id']}/actions/convert", json=body)


@case(*CREATE, "convert_unknown_lead", 400, stand_in=CONVERT)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.post(f"/crm/v8/Leads/{UNKNOWN_ID}/actions/convert", json={"data": [{}]})


@case(*CREATE, "convert_deal_missing_stage", 400, stand_in=CONVERT)
async def _(c: Ctx) -> httpx2.Response:
    lead = next(_store(c).all("Leads"))
    body = {"data": [{"Deals": {"Deal_Name": "X", "Closing_Date": "2027-01-31"}}]}
    return await c.client.post(f"/crm/v8/Leads/{lead['id']}/actions/convert", json=body)


# -- record count ---------------------------------------------------------------------------

COUNT = (R, RECORDS + "/actions/count", "get", "record_count")
RECORD_COUNT = ("record_count.json", RECORDS + "/actions/count", "get", "get_count")


@case(*COUNT, "all", 200)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get("/crm/v8/Accounts/actions/count")


@case(*COUNT, "by_criteria", 200)
async def _(c: Ctx) -> httpx2.Response:
    params = {"criteria": "(Industry:equals:Large Enterprise)"}
    return await c.client.get("/crm/v8/Accounts/actions/count", params=params)


@case(*COUNT, "by_custom_view", 200)
async def _(c: Ctx) -> httpx2.Response:
    cvid = await _view(c, "Deals", "Open Deals")
    return await c.client.get("/crm/v8/Deals/actions/count", params={"cvid": cvid})


@case(*RECORD_COUNT, "view_and_search", 400)
async def _(c: Ctx) -> httpx2.Response:
    cvid = await _view(c, "Accounts", "All Accounts")
    params = {"cvid": cvid, "word": "Holdings"}
    return await c.client.get("/crm/v8/Accounts/actions/count", params=params)


@case(*RECORD_COUNT, "invalid_module", 400)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get("/crm/v8/Nope/actions/count")


# -- the recycle bin -----------------------------------------------------------------------------

DELETED = (R, RECORDS + "/deleted", "get", "get_deleted_records")
for _kind in ("all", "recycle", "permanent"):

    async def _deleted(c: Ctx, kind: str = _kind) -> httpx2.Response:
        # One more in the bin, so that recycle (kept 60 days) has at least it; for permanent,
        # 61 days later.
        [record_id] = await c.account_ids(1)
        await c.client.delete(f"/crm/v8/Accounts/{record_id}")
        if kind == "permanent":
            await c.advance(61 * 86_400)
        return await c.client.get("/crm/v8/Accounts/deleted", params={"type": kind, "per_page": 5})

    case(*DELETED, _kind, 200)(_deleted)


@case(*DELETED, "just_deleted", 200)
async def _(c: Ctx) -> httpx2.Response:
    [record_id] = await c.account_ids(1)
    await c.client.delete(f"/crm/v8/Accounts/{record_id}")
    return await c.client.get(
        "/crm/v8/Accounts/deleted", params={"type": "recycle"}, headers=EARLIER
    )


@case(*DELETED, "unknown_type", 400)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get("/crm/v8/Accounts/deleted", params={"type": "shredded"})


@case(*DELETED, "not_modified_since", 304)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get("/crm/v8/Accounts/deleted", headers=LATER)


@case(*DELETED, "invalid_module", 400)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get("/crm/v8/Nope/deleted")


# -- mass update ------------------------------------------------------------------------------

MASS = (R, RECORDS + "/actions/mass_update", "post", "mass_update_records")
MASS_STATUS = (R, RECORDS + "/actions/mass_update", "get", "get_mass_update_status")


async def _mass_update(c: Ctx) -> httpx2.Response:
    ids = await c.account_ids(3)
    body = {"data": [{"Rating": "Active"}], "ids": ids}
    return await c.client.post("/crm/v8/Accounts/actions/mass_update", json=body)


case(*MASS, "by_ids", 202)(_mass_update)


@case(*MASS, "by_custom_view", 202)
async def _(c: Ctx) -> httpx2.Response:
    cvid = await _view(c, "Deals", "Open Deals")
    body = {"data": [{"Probability": 50}], "cvid": cvid}
    return await c.client.post("/crm/v8/Deals/actions/mass_update", json=body)


@case(*MASS, "unknown_field", 400)
async def _(c: Ctx) -> httpx2.Response:
    ids = await c.account_ids(1)
    body = {"data": [{"Shoe_Size": 9}], "ids": ids}
    return await c.client.post("/crm/v8/Accounts/actions/mass_update", json=body)


@case(*MASS_STATUS, "completed", 200)
async def _(c: Ctx) -> httpx2.Response:
    job_id = (await _mass_update(c)).json()["data"][0]["details"]["job_id"]
    params = {"job_id": job_id}
    return await c.client.get("/crm/v8/Accounts/actions/mass_update", params=params)


@case(*MASS_STATUS, "unknown_job", 400)
async def _(c: Ctx) -> httpx2.Response:
    params = {"job_id": UNKNOWN_ID}
    return await c.client.get("/crm/v8/Accounts/actions/mass_update", params=params)
