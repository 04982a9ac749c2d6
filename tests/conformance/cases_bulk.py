"""Conformance cases: Bulk Read and Bulk Write."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import httpx2
from tests.conformance.cases import UNKNOWN_ID, Ctx, case

# -- Bulk Read ------------------------------------------------------------------------------------

READ = {"query": {"module": {"api_name": "Accounts"}, "fields": ["Account_Name", "Owner"]}}


async def _read_job(c: Ctx) -> str:
    response = await c.client.post("/crm/bulk/v8/read", json=READ)
    job_id: str = response.json()["data"][0]["details"]["id"]
    return job_id


BULK_READ = ("bulk_read.json", "/crm/bulk/v8/read", "post", "create_bulk_read")


@case(*BULK_READ, "created", 201)
async def _(c: Ctx) -> httpx2.Response:
    criteria = {"field": {"api_name": "Annual_Revenue"}, "comparator": "greater_than", "value": 1}
    body = {"query": {**READ["query"], "criteria": criteria}, "file_type": "csv"}
    return await c.client.post("/crm/bulk/v8/read", json=body)


@case(*BULK_READ, "unknown_module", 400)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.post("/crm/bulk/v8/read", json={"query": {"module": {"api_name": "X"}}})


@case(*BULK_READ, "unknown_comparator", 400, valid_request=False)
async def _(c: Ctx) -> httpx2.Response:
    criteria = {"field": {"api_name": "Account_Name"}, "comparator": "about", "value": "x"}
    body = {"query": {**READ["query"], "criteria": criteria}}
    return await c.client.post("/crm/bulk/v8/read", json=body)


@case(*BULK_READ, "body_not_an_object", 400, valid_request=False)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.post("/crm/bulk/v8/read", json=["query"])


READ_STATUS = ("bulk_read.json", "/crm/bulk/v8/read/{job_id}", "get", "get_bulk_read")


@case(*READ_STATUS, "added", 200)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get(f"/crm/bulk/v8/read/{await _read_job(c)}")


@case(*READ_STATUS, "completed", 200)
async def _(c: Ctx) -> httpx2.Response:
    job_id = await _read_job(c)
    await c.advance(c.sandbox.config.bulk_job_seconds + 1)
    return await c.client.get(f"/crm/bulk/v8/read/{job_id}")


@case(*READ_STATUS, "unknown_job", 404)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get(f"/crm/bulk/v8/read/{UNKNOWN_ID}")


READ_RESULT = ("bulk_read.json", "/crm/bulk/v8/read/{job_id}/result", "get", "download_bulk_read")


@case(*READ_RESULT, "not_finished", 404)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get(f"/crm/bulk/v8/read/{await _read_job(c)}/result")


# -- Bulk Write -----------------------------------------------------------------------------------


def _zip(text: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("Accounts.csv", text)
    return out.getvalue()


async def _upload(
    c: Ctx, headers: dict[str, str] | None = None, content: bytes | None = None
) -> httpx2.Response:
    if headers is None:
        headers = {"feature": "bulk-write", "X-CRM-ORG": c.sandbox.org["zgid"]}
    payload = content if content is not None else _zip("Account_Name,Employees\nWritten,4\n")
    return await c.client.post(
        "/crm/v8/upload",
        files={"file": ("Accounts.zip", payload, "application/zip")},
        headers=headers,
    )


async def _write_job(c: Ctx) -> str:
    file_id = (await _upload(c)).json()["details"]["file_id"]
    response = await c.client.post("/crm/bulk/v8/write", json=_write_body(file_id))
    job_id: str = response.json()["details"]["id"]
    return job_id


def _write_body(file_id: str, **resource: Any) -> dict[str, Any]:
    return {
        "operation": "insert",
        "resource": [
            {
                "type": "data",
                "module": {"api_name": "Accounts"},
                "file_id": file_id,
                "field_mappings": [
                    {"api_name": "Account_Name", "index": 0},
                    {"api_name": "Employees", "index": 1},
                ],
                **resource,
            }
        ],
    }


UPLOAD = ("bulk_write.json", "/crm/v8/upload", "post", "upload_file")


@case(*UPLOAD, "uploaded", 200)
async def _(c: Ctx) -> httpx2.Response:
    return await _upload(c)


@case(*UPLOAD, "missing_org_header", 400)
async def _(c: Ctx) -> httpx2.Response:
    return await _upload(c, headers={"feature": "bulk-write"})


@case(*UPLOAD, "not_a_zip", 400)
async def _(c: Ctx) -> httpx2.Response:
    return await _upload(c, content=b"Account_Name\nplain csv\n")


BULK_WRITE = ("bulk_write.json", "/crm/bulk/v8/write", "post", "create_bulk_write")


@case(*BULK_WRITE, "created", 201)
async def _(c: Ctx) -> httpx2.Response:
    file_id = (await _upload(c)).json()["details"]["file_id"]
    return await c.client.post("/crm/bulk/v8/write", json=_write_body(file_id))


@case(*BULK_WRITE, "unknown_file_id", 400)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.post("/crm/bulk/v8/write", json=_write_body(UNKNOWN_ID))


@case(*BULK_WRITE, "update_without_find_by", 400)
async def _(c: Ctx) -> httpx2.Response:
    file_id = (await _upload(c)).json()["details"]["file_id"]
    body = {**_write_body(file_id), "operation": "update"}
    return await c.client.post("/crm/bulk/v8/write", json=body)


@case(*BULK_WRITE, "unknown_module", 400)
async def _(c: Ctx) -> httpx2.Response:
    file_id = (await _upload(c)).json()["details"]["file_id"]
    body = _write_body(file_id, module={"api_name": "Nope"})
    return await c.client.post("/crm/bulk/v8/write", json=body)


WRITE_STATUS = ("bulk_write.json", "/crm/bulk/v8/write/{job_id}", "get", "get_bulk_write")


@case(*WRITE_STATUS, "added", 200)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get(f"/crm/bulk/v8/write/{await _write_job(c)}")


@case(*WRITE_STATUS, "completed", 200)
async def _(c: Ctx) -> httpx2.Response:
    job_id = await _write_job(c)
    await c.advance(c.sandbox.config.bulk_job_seconds + 1)
    return await c.client.get(f"/crm/bulk/v8/write/{job_id}")


@case(*WRITE_STATUS, "unknown_job", 400)
async def _(c: Ctx) -> httpx2.Response:
    return await c.client.get(f"/crm/bulk/v8/write/{UNKNOWN_ID}")
