"""Bulk Read and Bulk Write against the sandbox over HTTP: job cycles, results, Zoho's errors.

Jobs last `bulk_job_seconds` (60 here, so real time never finishes one during a test); the
tests move the sandbox clock instead.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import pytest
from starlette.applications import Starlette

from sergas.sandbox.backend import Sandbox
from sergas.sandbox.config import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, SandboxConfig
from sergas.sandbox.http.app import create_app
from sergas.sandbox.server import RunningSandbox, asgi_client, serve_sandbox

JOB_SECONDS = 60.0
ACCOUNT_FIELDS_OUT = ("Id", "Account_Name", "Owner", "Annual_Revenue", "Created_Time")


# -- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture
def live() -> Iterator[RunningSandbox]:
    """A sandbox on a loopback port (real sockets), with slow bulk jobs."""
    with serve_sandbox(SandboxConfig(accounts=300, bulk_job_seconds=JOB_SECONDS)) as running:
        yield running


async def _authorise(client: httpx2.AsyncClient) -> httpx2.AsyncClient:
    response = await client.post(
        "/oauth/v2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH_TOKEN,
        },
    )
    client.headers["Authorization"] = f"Zoho-oauthtoken {response.json()['access_token']}"
    return client


@pytest.fixture
async def http(live: RunningSandbox) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(base_url=live.url, timeout=30) as client:
        yield await _authorise(client)


@pytest.fixture
def app() -> Starlette:
    return create_app(
        SandboxConfig(accounts=50, bulk_job_seconds=JOB_SECONDS, base_url="http://sandbox.test")
    )


@pytest.fixture
def sb(app: Starlette) -> Sandbox:
    sandbox: Sandbox = app.state.sandbox
    return sandbox


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx2.AsyncClient]:
    """In process (no socket): quick, for the error cases."""
    async with asgi_client(app) as c:
        yield await _authorise(c)


async def advance(client: httpx2.AsyncClient, seconds: float) -> None:
    response = await client.post("/__sandbox/clock", json={"advance_seconds": seconds})
    assert response.status_code == 200


def unzip_csv(content: bytes) -> tuple[str, list[dict[str, str]]]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        (name,) = archive.namelist()
        text = archive.read(name).decode("utf-8")
    return name, list(csv.DictReader(io.StringIO(text)))


def zipped(rows: list[list[str]], name: str = "Accounts.csv", delimiter: str = ",") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, buffer.getvalue())
    return out.getvalue()


def assert_error(response: httpx2.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "error"
    assert body["code"] == code, body
    return body


async def create_read(client: httpx2.AsyncClient, query: dict[str, Any]) -> str:
    response = await client.post("/crm/bulk/v8/read", json={"query": query})
    assert response.status_code == 201, response.text
    job_id: str = response.json()["data"][0]["details"]["id"]
    return job_id


async def upload(client: httpx2.AsyncClient, sb: Sandbox, content: bytes) -> str:
    response = await client.post(
        "/crm/v8/upload",
        files={"file": ("data.zip", content, "application/zip")},
        headers={"feature": "bulk-write", "X-CRM-ORG": sb.org["zgid"]},
    )
    assert response.status_code == 200, response.text
    file_id: str = response.json()["details"]["file_id"]
    return file_id


async def create_write(
    client: httpx2.AsyncClient, file_id: str, operation: str = "insert", **resource: Any
) -> httpx2.Response:
    body = {
        "operation": operation,
        "resource": [
            {"type": "data", "module": {"api_name": "Accounts"}, "file_id": file_id, **resource}
        ],
    }
    return await client.post("/crm/bulk/v8/write", json=body)


async def run_write(
    client: httpx2.AsyncClient, sb: Sandbox, rows: list[list[str]], op: str = "insert", **res: Any
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Upload, create, finish the job; the final status and the result rows."""
    response = await create_write(client, await upload(client, sb, zipped(rows)), op, **res)
    assert response.status_code == 201, response.text
    job_id = response.json()["details"]["id"]
    await advance(client, JOB_SECONDS)
    status = (await client.get(f"/crm/bulk/v8/write/{job_id}")).json()
    result = await client.get(status["result"]["download_url"])
    assert result.status_code == 200
    return status, unzip_csv(result.content)[1]


# -- Bulk Read ---------------------------------------------------------------------------------


async def test_read_cycle_exports_the_store(http: httpx2.AsyncClient, live: RunningSandbox) -> None:
    sb = live.sandbox
    response = await http.post(
        "/crm/bulk/v8/read", json={"query": {"module": {"api_name": "Accounts"}}}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["info"] == {}
    (item,) = body["data"]
    assert (item["status"], item["code"], item["message"]) == (
        "success",
        "ADDED_SUCCESSFULLY",
        "Added successfully.",
    )
    details = item["details"]
    job_id = details["id"]
    assert job_id.isdigit()
    assert details["operation"] == "read" and details["state"] == "ADDED"
    assert details["created_by"] == {
        "id": sb.current_user["id"],
        "name": sb.current_user["full_name"],
    }
    assert details["created_time"].endswith("+00:00")

    async def state() -> dict[str, Any]:
        response = await http.get(f"/crm/bulk/v8/read/{int(job_id)}")
        assert response.status_code == 200
        (job,) = response.json()["data"]
        return dict(job)

    assert (await state())["state"] == "ADDED"
    await advance(http, JOB_SECONDS * 0.5)
    job = await state()
    assert job["state"] == "IN PROGRESS" and "result" not in job
    assert_error(await http.get(f"/crm/bulk/v8/read/{job_id}/result"), 404, "RESOURCE_NOT_FOUND")

    await advance(http, JOB_SECONDS)
    job = await state()
    assert job["state"] == "COMPLETED"
    assert job["operation"] == "read" and job["file_type"] == "csv"
    assert job["query"]["module"]["api_name"] == "Accounts"
    count = sb.store.count("Accounts")
    assert job["result"] == {
        "page": 1,
        "per_page": 200000,
        "count": count,
        "download_url": f"/crm/bulk/v8/read/{job_id}/result",
        "more_records": False,
    }

    download = await http.get(job["result"]["download_url"])
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    assert download.headers["content-disposition"] == f'attachment; filename="{job_id}.zip"'
    name, rows = unzip_csv(download.content)
    assert name == f"{job_id}.csv"
    assert len(rows) == count
    assert set(ACCOUNT_FIELDS_OUT) <= set(rows[0])
    assert "id" not in rows[0]  # the id column is headed "Id"
    by_id = {r["id"]: r for r in sb.store.all("Accounts")}
    assert [row["Id"] for row in rows] == sorted(by_id, key=int)
    for row in rows:
        record = by_id[row["Id"]]
        assert row["Account_Name"] == record["Account_Name"]
        assert row["Owner"] == record["Owner"]["id"]  # lookups export their id
        assert row["Created_Time"] == record["Created_Time"]
        assert row["Annual_Revenue"] == (
            "" if record["Annual_Revenue"] is None else str(record["Annual_Revenue"])
        )


async def test_read_criteria_fields_and_lookup_columns(
    http: httpx2.AsyncClient, live: RunningSandbox
) -> None:
    sb = live.sandbox
    records = list(sb.store.all("Accounts"))
    threshold = sorted(r["Employees"] or 0 for r in records)[len(records) // 2]
    owner = records[0]["Owner"]["id"]
    criteria = {
        "group_operator": "or",
        "group": [
            {
                "group_operator": "and",
                "group": [
                    {
                        "field": {"api_name": "Employees"},
                        "comparator": "greater_equal",
                        "value": threshold,
                    },
                    {
                        "field": {"api_name": "Account_Name"},
                        "comparator": "starts_with",
                        "value": "a",
                    },
                ],
            },
            {"field": {"api_name": "Owner"}, "comparator": "equal", "value": owner},
        ],
    }
    fields = ["Account_Name", "Employees", "Owner.last_name", "Owner.email"]
    job_id = await create_read(
        http, {"module": {"api_name": "Accounts"}, "fields": fields, "criteria": criteria}
    )
    await advance(http, JOB_SECONDS)
    job = (await http.get(f"/crm/bulk/v8/read/{job_id}")).json()["data"][0]
    assert job["query"]["criteria"] == criteria and job["query"]["fields"] == fields
    _, rows = unzip_csv((await http.get(f"/crm/bulk/v8/read/{job_id}/result")).content)

    expected = [
        r["id"]
        for r in records
        if (
            (r["Employees"] or 0) >= threshold
            and r["Employees"] is not None
            and r["Account_Name"].lower().startswith("a")
        )
        or r["Owner"]["id"] == owner
    ]
    assert expected and len(expected) < len(records)
    assert [row["Id"] for row in rows] == expected
    assert job["result"]["count"] == len(expected)
    assert list(rows[0]) == ["Id", *fields]
    users = {u["id"]: u for u in sb.users}
    for row in rows:
        user = users[sb.store.get("Accounts", row["Id"])["Owner"]["id"]]
        assert (row["Owner.last_name"], row["Owner.email"]) == (user["last_name"], user["email"])


async def test_read_empty_value_and_lookup_through_related_module(
    client: httpx2.AsyncClient,
    sb: Sandbox,
) -> None:
    contacts = list(sb.store.all("Contacts"))
    job_id = await create_read(
        client,
        {
            "module": {"api_name": "Contacts"},
            "fields": ["Last_Name", "Account_Name", "Account_Name.Account_Name"],
            "criteria": {
                "field": {"api_name": "Title"},
                "comparator": "not_equal",
                "value": "${EMPTY}",
            },
        },
    )
    await advance(client, JOB_SECONDS)
    _, rows = unzip_csv((await client.get(f"/crm/bulk/v8/read/{job_id}/result")).content)
    assert [r["Id"] for r in rows] == [c["id"] for c in contacts if c.get("Title")]
    for row in rows:
        account_ref = sb.store.get("Contacts", row["Id"])["Account_Name"]
        if account_ref:
            account = sb.store.get("Accounts", account_ref["id"])
            assert row["Account_Name"] == account["id"]
            assert row["Account_Name.Account_Name"] == account["Account_Name"]


async def test_read_snapshots_when_the_job_completes(
    client: httpx2.AsyncClient, sb: Sandbox
) -> None:
    job_id = await create_read(
        client, {"module": {"api_name": "Accounts"}, "fields": ["Account_Name"]}
    )
    created = await client.post(
        "/crm/v8/Accounts", json={"data": [{"Account_Name": "Late Arrival Ltd"}]}
    )
    assert created.status_code == 201
    await advance(client, JOB_SECONDS)
    _, rows = unzip_csv((await client.get(f"/crm/bulk/v8/read/{job_id}/result")).content)
    assert "Late Arrival Ltd" in {r["Account_Name"] for r in rows}  # written before completion
    await client.post("/crm/v8/Accounts", json={"data": [{"Account_Name": "Too Late Ltd"}]})
    _, again = unzip_csv((await client.get(f"/crm/bulk/v8/read/{job_id}/result")).content)
    assert again == rows and len(rows) == sb.store.count("Accounts") - 1


async def test_read_costs_fifty_credits_and_polls_one(
    client: httpx2.AsyncClient, sb: Sandbox
) -> None:
    before = sb.limits.used()
    job_id = await create_read(client, {"module": {"api_name": "Deals"}})
    assert sb.limits.used() - before == 50
    await client.get(f"/crm/bulk/v8/read/{job_id}")
    assert sb.limits.used() - before == 51


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"module": {"api_name": "Nope"}}, "MODULE_NOT_AVAILABLE"),
        ({"fields": ["Account_Name"]}, "MANDATORY_NOT_FOUND"),
        ({"module": {"api_name": "Accounts"}, "fields": ["Nope"]}, "FIELD_NOT_AVAILABLE"),
        ({"module": {"api_name": "Accounts"}, "fields": ["Owner.nope"]}, "FIELD_NOT_AVAILABLE"),
        ({"module": {"api_name": "Accounts"}, "fields": ["Owner."]}, "FIELD_NOT_AVAILABLE"),
        ({"module": {"api_name": "Accounts"}, "fields": "Owner"}, "INVALID_DATA"),
        ({"module": {"api_name": "Accounts"}, "cvid": "123"}, "CVID_NOT_SUPPORTED"),
        ({"module": {"api_name": "Accounts"}, "page": 0}, "INVALID_DATA"),
        (
            {
                "module": {"api_name": "Accounts"},
                "criteria": {
                    "field": {"api_name": "Employees"},
                    "comparator": "contains",
                    "value": 1,
                },
            },
            "FIELD_COMPARATOR_IN_CRITERIA_NOT_SUPPORTED",
        ),
        (
            {
                "module": {"api_name": "Accounts"},
                "criteria": {
                    "field": {"api_name": "Employees"},
                    "comparator": "equal",
                    "value": "many",
                },
            },
            "INVALID_CRITERIA",
        ),
        (
            {
                "module": {"api_name": "Accounts"},
                "criteria": {"field": {"api_name": "Nope"}, "comparator": "equal", "value": "x"},
            },
            "FIELD_NOT_AVAILABLE",
        ),
        (
            {
                "module": {"api_name": "Accounts"},
                "criteria": {"group_operator": "xor", "group": []},
            },
            "GROUP_OPERATOR_NOT_SUPPORTED",
        ),
        (
            {
                "module": {"api_name": "Accounts"},
                "criteria": {
                    "group_operator": "and",
                    "group": [
                        {"field": {"api_name": "Employees"}, "comparator": "equal", "value": i}
                        for i in range(26)
                    ],
                },
            },
            "CRITERIA_LIMIT_EXCEEDED",
        ),
        (
            {
                "module": {"api_name": "Accounts"},
                "criteria": {
                    "field": {"api_name": "Employees"},
                    "comparator": "in",
                    "value": list(range(201)),
                },
            },
            "VALUE_LIMIT_EXCEEDED_IN_CRITERIA",
        ),
    ],
)
async def test_read_rejects_bad_queries(
    client: httpx2.AsyncClient, sb: Sandbox, query: dict[str, Any], code: str
) -> None:
    before = sb.limits.used()
    assert_error(await client.post("/crm/bulk/v8/read", json={"query": query}), 400, code)
    assert sb.limits.used() == before  # rejected jobs cost nothing


async def test_read_request_errors(client: httpx2.AsyncClient) -> None:
    query = {"query": {"module": {"api_name": "Accounts"}}}
    raw = b'{"query": {"module": {"api_name": "Accounts"}}}'
    assert_error(
        await client.post("/crm/bulk/v8/read", content=raw), 415, "MEDIA_TYPE_NOT_SUPPORTED"
    )
    assert_error(
        await client.post("/crm/bulk/v8/read", content=raw, headers={"content-type": "text/plain"}),
        415,
        "MEDIA_TYPE_NOT_SUPPORTED",
    )
    json_type = {"content-type": "application/json"}
    for bad in (b"{not json", b"[1, 2]", b""):
        response = await client.post("/crm/bulk/v8/read", content=bad, headers=json_type)
        assert response.status_code == 400 and response.json()["status"] == "error"
    callback = {**query, "callback": {"url": "not a url", "method": "post"}}
    assert_error(await client.post("/crm/bulk/v8/read", json=callback), 400, "INVALID_CALLBACK_URL")
    callback = {**query, "callback": {"url": "https://example.com/hook", "method": "get"}}
    assert_error(
        await client.post("/crm/bulk/v8/read", json=callback), 400, "INVALID_CALLBACK_METHOD"
    )
    callback = {**query, "callback": {"url": "https://example.com/hook", "method": "post"}}
    response = await client.post("/crm/bulk/v8/read", json=callback)
    assert response.status_code == 201
    job = (
        await client.get(f"/crm/bulk/v8/read/{response.json()['data'][0]['details']['id']}")
    ).json()
    assert job["data"][0]["callback"] == {"url": "https://example.com/hook", "method": "post"}
    for path in (
        "/crm/bulk/v8/read/5725767000999999999",
        "/crm/bulk/v8/read/abc",
        "/crm/bulk/v8/read/5725767000999999999/result",
    ):
        assert_error(await client.get(path), 404, "RESOURCE_NOT_FOUND")
    del client.headers["Authorization"]
    assert_error(await client.post("/crm/bulk/v8/read", json=query), 401, "INVALID_TOKEN")


# -- Bulk Write --------------------------------------------------------------------------------


async def test_write_insert_cycle(http: httpx2.AsyncClient, live: RunningSandbox) -> None:
    sb = live.sandbox
    before_count = sb.store.count("Accounts")
    rows = [
        ["Account_Name", "Industry", "Employees", "Last_Health_Check", "Owner"],
        ["Bulk One", "Government/Military", "12", "03/04/2025 10:20:30", sb.users[2]["id"]],
        ["Bulk Two", "Storage Equipment", "", "2025-03-05T08:00:00+00:00", ""],
        ["Bulk Bad Industry", "Not An Industry", "3", "", ""],
        ["", "Storage Equipment", "4", "", ""],
        ["Bulk Bad Number", "", "many", "", ""],
    ]
    file_id = await upload(http, sb, zipped(rows))
    assert file_id.isdigit()
    credits = sb.limits.used()
    response = await create_write(http, file_id)
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["code"], body["message"]) == ("success", "SUCCESS", "success")
    job_id = body["details"]["id"]
    assert isinstance(job_id, str) and job_id.isdigit()
    assert body["details"]["created_by"]["id"] == sb.current_user["id"]
    assert sb.limits.used() - credits == 500

    status = (await http.get(f"/crm/bulk/v8/write/{job_id}")).json()
    assert status["status"] == "ADDED" and "result" not in status
    assert status["resource"][0]["file"]["total_count"] == 5
    assert_error(await http.get(f"/crm/bulk/v8/write/{job_id}/result"), 404, "RESOURCE_NOT_FOUND")
    await advance(http, JOB_SECONDS / 2)
    assert (await http.get(f"/crm/bulk/v8/write/{job_id}")).json()["status"] == "INPROGRESS"
    assert sb.store.count("Accounts") == before_count  # nothing applied before completion

    await advance(http, JOB_SECONDS)
    status = (await http.get(f"/crm/bulk/v8/write/{job_id}")).json()
    assert status["status"] == "COMPLETED" and status["operation"] == "insert"
    (resource,) = status["resource"]
    assert resource["status"] == "COMPLETED" and resource["type"] == "data"
    assert resource["module"]["api_name"] == "Accounts"
    assert [m["api_name"] for m in resource["field_mappings"]] == rows[0]
    assert resource["file"] == {
        "status": "COMPLETED",
        "name": "Accounts.csv",
        "added_count": 2,
        "skipped_count": 3,
        "updated_count": 0,
        "total_count": 5,
    }
    url = status["result"]["download_url"]
    assert url == f"{live.url}/crm/bulk/v8/write/{job_id}/result"  # absolute, for the SDK

    download = await http.get(url)
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    assert download.headers["content-disposition"] == f'attachment; filename="{job_id}.zip"'
    name, result = unzip_csv(download.content)
    assert name == "Accounts-Accounts.csv"
    assert list(result[0]) == [*rows[0][:3], "RECORD_ID", "STATUS", "ERRORS"]
    assert [(r["Account_Name"], r["STATUS"], r["ERRORS"]) for r in result] == [
        ("Bulk One", "added", ""),
        ("Bulk Two", "added", ""),
        ("Bulk Bad Industry", "skipped", "INVALID_DATA-Industry"),
        ("", "skipped", "MANDATORY_NOT_FOUND-Account_Name"),
        ("Bulk Bad Number", "skipped", "INVALID_DATA-Employees"),
    ]
    assert sb.store.count("Accounts") == before_count + 2
    one = sb.store.get("Accounts", result[0]["RECORD_ID"])
    assert one is not None
    assert (one["Account_Name"], one["Industry"], one["Employees"]) == (
        "Bulk One",
        "Government/Military",
        12,
    )
    assert one["Last_Health_Check"] == "2025-03-04T10:20:30+00:00"
    assert one["Owner"]["id"] == sb.users[2]["id"]
    two = sb.store.get("Accounts", result[1]["RECORD_ID"])
    assert two is not None and two["Last_Health_Check"] == "2025-03-05T08:00:00+00:00"
    assert two["Owner"]["id"] == sb.current_user["id"]
    names = {r["Account_Name"] for r in sb.store.all("Accounts")}
    assert not names & {"Bulk Bad Industry", "Bulk Bad Number"}


async def test_write_update_by_id_leaves_invalid_rows_untouched(
    client: httpx2.AsyncClient, sb: Sandbox
) -> None:
    a, b, c = (dict(r) for r in list(sb.store.all("Accounts"))[:3])
    await advance(client, 5)  # so an update visibly moves Modified_Time
    rows = [
        ["Id", "Employees", "Account_Status"],
        [a["id"], "4321", "Watch"],
        [b["id"], "not a number", "Watch"],
        ["5725767000000999999", "7", "Watch"],
        [c["id"], "77", ""],
    ]
    status, result = await run_write(client, sb, rows, "update", find_by="id")
    assert status["resource"][0]["file"]["updated_count"] == 2
    assert status["resource"][0]["find_by"] == "id"
    assert [(r["STATUS"], r["ERRORS"]) for r in result] == [
        ("updated", ""),
        ("skipped", "INVALID_DATA-Employees"),
        ("skipped", "RESOURCE_NOT_FOUND-id"),
        ("updated", ""),
    ]
    assert [r["RECORD_ID"] for r in result] == [a["id"], "", "", c["id"]]
    new_a = sb.store.get("Accounts", a["id"])
    assert new_a is not None
    assert (new_a["Employees"], new_a["Account_Status"]) == (4321, "Watch")
    assert new_a["Modified_Time"] > a["Modified_Time"]
    assert sb.store.get("Accounts", b["id"]) == b  # the invalid row changed nothing
    new_c = sb.store.get("Accounts", c["id"])
    assert new_c is not None and new_c["Employees"] == 77
    assert new_c["Account_Status"] is None  # an empty cell clears unless ignore_empty


async def test_write_upsert_with_mappings_semicolons_and_formats(
    client: httpx2.AsyncClient, sb: Sandbox
) -> None:
    existing = next(iter(sb.store.all("Accounts")))
    rows = [
        ["Name", "Checked", "Revenue", "Ignored"],
        [existing["Account_Name"], "2024-12-31 23:59", "1234.5", "x"],
        ["Upserted Newco", "2025-01-02 03:04", "99", "y"],
        ["Upserted Newco", "", "100", "z"],  # the row above inserted it: now an update
    ]
    content = zipped(rows, "upsert.csv", delimiter=";")
    file_id = await upload(client, sb, content)
    mappings = [
        {"api_name": "Account_Name", "index": 0},
        {"api_name": "Last_Health_Check", "index": 1, "format": "yyyy-MM-dd HH:mm"},
        {"api_name": "Annual_Revenue", "index": 2},
        {"api_name": "Rating", "default_value": {"value": "Active"}},
    ]
    response = await create_write(
        client,
        file_id,
        "upsert",
        find_by="Account_Name",
        field_mappings=mappings,
        ignore_empty=True,
    )
    assert response.status_code == 201, response.text
    job_id = response.json()["details"]["id"]
    await advance(client, JOB_SECONDS)
    status = (await client.get(f"/crm/bulk/v8/write/{job_id}")).json()
    file = status["resource"][0]["file"]
    assert (file["added_count"], file["updated_count"], file["skipped_count"]) == (1, 2, 0)
    _, result = unzip_csv((await client.get(f"/crm/bulk/v8/write/{job_id}/result")).content)
    assert [r["STATUS"] for r in result] == ["updated", "added", "updated"]
    assert list(result[0])[:3] == ["Name", "Checked", "Revenue"]
    updated = sb.store.get("Accounts", existing["id"])
    assert updated is not None
    assert updated["Last_Health_Check"] == "2024-12-31T23:59:00+00:00"
    assert (updated["Annual_Revenue"], updated["Rating"]) == (1234.5, "Active")
    newco = sb.store.get("Accounts", result[1]["RECORD_ID"])
    assert newco is not None and result[2]["RECORD_ID"] == newco["id"]
    assert newco["Annual_Revenue"] == 100.0
    assert newco["Last_Health_Check"] == "2025-01-02T03:04:00+00:00"  # ignore_empty kept it


@pytest.mark.parametrize(
    ("headers", "status", "code", "message"),
    [
        ({"X-CRM-ORG": "ORG"}, 400, "MANDATORY_NOT_FOUND", "Required key feature is not available"),
        (
            {"feature": "bulk-write"},
            400,
            "MANDATORY_NOT_FOUND",
            "Required key x-crm-org is not available",
        ),
        (
            {"feature": "bulk-write", "X-CRM-ORG": "123"},
            400,
            "INVALID_DATA",
            "Invalid data - x-crm-org",
        ),
        ({"feature": "bulk-read", "X-CRM-ORG": "ORG"}, 400, "NOT_SUPPORTED_FEATURE", None),
    ],
)
async def test_upload_header_errors(
    client: httpx2.AsyncClient,
    sb: Sandbox,
    headers: dict[str, str],
    status: int,
    code: str,
    message: str | None,
) -> None:
    zgid = sb.org["zgid"]
    headers = {k: zgid if v == "ORG" else v for k, v in headers.items()}
    content = zipped([["Account_Name"], ["X"]])
    response = await client.post(
        "/crm/v8/upload", files={"file": ("a.zip", content, "application/zip")}, headers=headers
    )
    body = assert_error(response, status, code)
    if message:
        assert body["message"] == message


async def test_upload_file_errors(client: httpx2.AsyncClient, sb: Sandbox) -> None:
    headers = {"feature": "bulk-write", "X-CRM-ORG": sb.org["zgid"]}

    async def post(content: bytes) -> httpx2.Response:
        files = {"file": ("a.zip", content, "application/zip")}
        return await client.post("/crm/v8/upload", files=files, headers=headers)

    assert_error(await post(b"Account_Name\nplain csv\n"), 400, "INVALID_FILE_FORMAT")
    assert_error(await post(b"PK\x03\x04 truncated"), 400, "INVALID_FILE_FORMAT")
    body = assert_error(await post(b"\0" * (25 * 1024 * 1024 + 1)), 413, "FILE_TOO_LARGE")
    assert body["message"]
    response = await client.post("/crm/v8/upload", data={"other": "x"}, headers=headers)
    assert_error(response, 400, "MANDATORY_NOT_FOUND")
    response = await client.post("/crm/v8/upload", content=b"junk", headers=headers)
    assert_error(response, 400, "MANDATORY_NOT_FOUND")


async def test_create_write_errors(client: httpx2.AsyncClient, sb: Sandbox) -> None:
    file_id = await upload(client, sb, zipped([["Account_Name", "Employees"], ["X", "1"]]))
    bad_header = await upload(client, sb, zipped([["Account_Name", "Shoe_Size"], ["X", "9"]]))
    two_csvs = io.BytesIO()
    with zipfile.ZipFile(two_csvs, "w") as archive:
        archive.writestr("a.csv", "Account_Name\nA\n")
        archive.writestr("b.csv", "Account_Name\nB\n")
    two = await upload(client, sb, two_csvs.getvalue())
    corrupt = bytearray(zipped([["Account_Name"], *([f"Name {i}"] for i in range(200))]))
    corrupt[40:60] = bytes(b ^ 0xFF for b in corrupt[40:60])  # inside the compressed data
    broken = await upload(client, sb, bytes(corrupt))
    big = await upload(client, sb, zipped([["Account_Name"], *([f"A{i}"] for i in range(25_001))]))
    before = sb.limits.used()

    async def post(body: Any) -> httpx2.Response:
        return await client.post("/crm/bulk/v8/write", json=body)

    def job(**resource: Any) -> dict[str, Any]:
        base = {"type": "data", "module": {"api_name": "Accounts"}, "file_id": file_id}
        return {"operation": "insert", "resource": [{**base, **resource}]}

    assert_error(await post({"resource": job()["resource"]}), 400, "MISSING_REQUIRED_KEY")
    assert_error(await post({**job(), "operation": "merge"}), 400, "INVALID_DATA")
    assert_error(await post({"operation": "insert"}), 400, "MISSING_REQUIRED_KEY")
    assert_error(await post([1]), 400, "REQUEST_BODY_NOT_SUPPORTED")
    body = assert_error(await post({**job(), "operation": "update"}), 400, "MANDATORY_NOT_FOUND")
    assert body["message"] == "Required key find_by is not available"
    assert_error(await post({**job(), "operation": "upsert"}), 400, "MANDATORY_NOT_FOUND")
    assert_error(await post(job(module={"api_name": "Nope"})), 400, "MODULE_NOT_AVAILABLE")
    assert_error(await post(job(file_id="123456789")), 400, "FILE_NOT_FOUND")
    assert_error(await post(job(file_id=None)), 400, "MISSING_REQUIRED_KEY")
    mapping = [{"api_name": "Employees", "index": 1}]
    assert_error(await post(job(field_mappings=mapping)), 400, "MANDATORY_FIELDS_NOT_MAPPED")
    mapping = [{"api_name": "Account_Name", "index": 5}]
    assert_error(await post(job(field_mappings=mapping)), 400, "COLUMN_INDEX_NOT_FOUND")
    mapping = [{"api_name": "Nope", "index": 0}]
    assert_error(await post(job(field_mappings=mapping)), 400, "INVALID_DATA")
    callback = {**job(), "callback": {"url": "ftp://x", "method": "post"}}
    assert_error(await post(callback), 400, "INVALID_CALLBACK_URL")
    assert_error(await post(job(file_id=bad_header)), 400, "INVALID_DATA")
    assert_error(await post(job(file_id=two)), 400, "FILE_NOT_SUPPORTED")
    assert_error(await post(job(file_id=big)), 400, "LIMIT_EXCEEDED")
    assert_error(await post(job(file_id=broken)), 400, "FILE_NOT_SUPPORTED")
    # A body that is not JSON: Zoho's createBulkWriteJob documents INVALID_REQUEST for it.
    for raw in (b"{oops", b"", b"operation=insert"):
        response = await client.post(
            "/crm/bulk/v8/write", content=raw, headers={"content-type": "application/json"}
        )
        assert_error(response, 400, "INVALID_REQUEST")
    assert sb.limits.used() == before  # rejected jobs cost nothing
    # Zoho's bulk-write spec documents an unknown job's status as 400; the result file as 404.
    unknown = await client.get("/crm/bulk/v8/write/5725767000999999999")
    assert_error(unknown, 400, "RESOURCE_NOT_FOUND")
    assert_error(await client.get("/crm/bulk/v8/write/x/result"), 404, "RESOURCE_NOT_FOUND")


async def test_write_polls_and_downloads_cost_one_credit(
    client: httpx2.AsyncClient, sb: Sandbox
) -> None:
    response = await create_write(
        client, await upload(client, sb, zipped([["Account_Name"], ["C"]]))
    )
    job_id = response.json()["details"]["id"]
    await advance(client, JOB_SECONDS)
    before = sb.limits.used()
    await client.get(f"/crm/bulk/v8/write/{job_id}")
    await client.get(f"/crm/bulk/v8/write/{job_id}/result")
    assert sb.limits.used() - before == 2
