"""Bulk Read and Bulk Write routes (zoho-api.md §5, §6, §11): thin calls on `Sandbox.bulk`.

Downloads carry `Content-Disposition` (Zoho's SDK fails without it); the upload route sits
on the API host too, since the sandbox serves Zoho's file-upload host at its own base URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sergas.sandbox import errors as E
from sergas.sandbox.bulk_common import RequestBodyNotSupported
from sergas.sandbox.bulk_write import MAX_UPLOAD
from sergas.sandbox.http.common import crm, json_response

if TYPE_CHECKING:
    from sergas.sandbox.backend import Caller, Sandbox


def _zip(name: str, content: bytes) -> Response:
    return Response(
        content,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _json_object(request: Request) -> Any:
    """Bulk Read insists on `Content-Type: application/json` (415 otherwise)."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise E.MediaTypeNotSupported(details={"supported": ["application/json"]})
    raw = await request.body()
    if not raw.strip():
        raise E.InvalidRequest("the request body is empty", {"api_name": "body"})
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise RequestBodyNotSupported("the request body is not valid JSON") from None


@crm()
async def create_read(sb: Sandbox, request: Request, caller: Caller) -> Response:
    item = await sb.bulk.create_read(caller, await _json_object(request))
    return json_response({"data": [item], "info": {}}, 201)


@crm()
async def read_status(sb: Sandbox, request: Request, caller: Caller) -> Response:
    return json_response({"data": [await sb.bulk.read_status(caller, request.path_params["id"])]})


@crm()
async def read_result(sb: Sandbox, request: Request, caller: Caller) -> Response:
    return _zip(*await sb.bulk.read_result(caller, request.path_params["id"]))


@crm()
async def upload(sb: Sandbox, request: Request, caller: Caller) -> Response:
    headers = request.headers
    data: bytes | None = None
    name: str | None = None
    size = 0
    try:
        async with request.form(max_files=10, max_fields=100) as form:
            part = form.get("file")
            if isinstance(part, UploadFile):
                name, size = part.filename, part.size or 0
                # Starlette has spooled the part; a huge one is refused without loading it.
                data = b"" if size > MAX_UPLOAD else await part.read()
    except (HTTPException, MultiPartException):
        raise E.InvalidFileFormat(details={"api_name": "file"}) from None
    body = await sb.bulk.upload(
        caller,
        data,
        size=max(size, len(data or b"")),
        name=name,
        feature=headers.get("feature"),
        org=headers.get("x-crm-org"),
    )
    return json_response(body)


@crm()
async def create_write(sb: Sandbox, request: Request, caller: Caller) -> Response:
    # Zoho's createBulkWriteJob documents INVALID_REQUEST for a malformed payload.
    raw = await request.body()
    try:
        body = orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError:
        body = None
    if body is None:
        raise E.InvalidRequest("the request body is not valid JSON", {"api_name": "body"})
    return json_response(await sb.bulk.create_write(caller, body), 201)


@crm()
async def write_status(sb: Sandbox, request: Request, caller: Caller) -> Response:
    return json_response(await sb.bulk.write_status(caller, request.path_params["id"]))


@crm()
async def write_result(sb: Sandbox, request: Request, caller: Caller) -> Response:
    return _zip(*await sb.bulk.write_result(caller, request.path_params["id"]))


ROUTES = [
    Route("/crm/bulk/v8/read", create_read, methods=["POST"]),
    Route("/crm/bulk/v8/read/{id}", read_status, methods=["GET"]),
    Route("/crm/bulk/v8/read/{id}/result", read_result, methods=["GET"]),
    Route("/crm/v8/upload", upload, methods=["POST"]),
    Route("/crm/bulk/v8/write", create_write, methods=["POST"]),
    Route("/crm/bulk/v8/write/{id}", write_status, methods=["GET"]),
    Route("/crm/bulk/v8/write/{id}/result", write_result, methods=["GET"]),
]
