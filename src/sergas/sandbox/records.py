"""Records, search and COQL operations: one method per Zoho operation."""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from sergas.sandbox import errors as E
from sergas.sandbox.clock import iso
from sergas.sandbox.schema import LOOKUP_TYPES, NUMBER_TYPES, TEXT_TYPES, Field, Module

if TYPE_CHECKING:
    from sergas.sandbox.backend import Sandbox

MAX_PER_PAGE = 200
DISCRETE_LIMIT = 2000
PAGE_TOKEN_TTL = 24 * 3600.0
MAX_FIELDS = 50
MAX_WRITE = 100
SEARCH_LIMIT = 2000
SORTABLE = ("id", "Created_Time", "Modified_Time")
SYSTEM_READ_ONLY = frozenset(
    {
        "Created_Time",
        "Modified_Time",
        "Created_By",
        "Modified_By",
        "Last_Activity_Time",
        "Full_Name",
    }
)

Record = dict[str, Any]


@dataclass
class PageToken:
    binding: str
    offset: int
    user_id: str
    expires_at: float


@dataclass
class Page:
    data: list[Record]
    info: dict[str, Any]


@dataclass
class WriteResult:
    """Per-record outcomes in input order, and the HTTP status Zoho would use."""

    items: list[dict[str, Any]]
    status: int


def _int_param(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise E.InvalidData(
            "invalid data", {"param_name": name, "expected_data_type": "integer"}
        ) from None
    if value < 1:
        raise E.InvalidData("invalid data", {"param_name": name, "minimum": 1})
    return value


class Records:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        self.page_tokens: dict[str, PageToken] = {}

    # -- helpers ---------------------------------------------------------------------------

    def module(self, name: str, *, index: int = 0, per_item: bool = False) -> Module:
        module = self.sb.module(name)
        if module is None:
            raise E.InvalidModule(details={"resource_path_index": index}, per_item=per_item)
        return module

    def _fields(self, module: Module, raw: str | None, *, required: bool) -> list[str] | None:
        if not raw:
            if required:
                raise E.RequiredParamMissing(details={"param_name": "fields"})
            return None
        names = [n.strip() for n in raw.split(",") if n.strip()]
        if len(names) > MAX_FIELDS:
            raise E.LimitExceeded(details={"limit": MAX_FIELDS, "param_name": "fields"})
        for name in names:
            if module.field(name) is None:
                raise E.InvalidData(
                    "the field api name given seems to be invalid",
                    {"api_name": name, "param_name": "fields"},
                )
        return names

    @staticmethod
    def project(record: Record, fields: list[str] | None) -> Record:
        if fields is None:
            return dict(record)
        out = {name: record.get(name) for name in fields}
        out["id"] = record["id"]
        return out

    # -- GET /crm/v8/{module} --------------------------------------------------------------

    def get_records(self, module_name: str, params: Mapping[str, str], user_id: str) -> Page | None:
        module = self.module(module_name)
        fields = self._fields(module, params.get("fields"), required=True)
        per_page = _int_param(params, "per_page", MAX_PER_PAGE)
        if per_page > MAX_PER_PAGE:
            raise E.LimitExceeded(details={"limit": MAX_PER_PAGE, "param_name": "per_page"})
        sort_by = params.get("sort_by") or "id"
        if sort_by not in SORTABLE:
            raise E.InvalidData(
                "invalid data",
                {"param_name": "sort_by", "supported_values": list(SORTABLE)},
            )
        sort_order = (params.get("sort_order") or "desc").lower()
        if sort_order not in ("asc", "desc"):
            raise E.InvalidData(
                "invalid data", {"param_name": "sort_order", "supported_values": ["asc", "desc"]}
            )
        if params.get("cvid") and params.get("sort_by"):
            raise E.AmbiguityDuringProcessing(
                details={"ambiguity_due_to": [{"param_name": "cvid"}, {"param_name": "sort_by"}]}
            )
        token = params.get("page_token")
        binding = self._binding(module, params)
        if token:
            if params.get("page"):
                raise E.AmbiguityDuringProcessing(
                    details={
                        "ambiguity_due_to": [{"param_name": "page"}, {"param_name": "page_token"}]
                    }
                )
            offset = self._redeem(token, binding, user_id)
        else:
            page = _int_param(params, "page", 1)
            offset = (page - 1) * per_page
            if offset >= DISCRETE_LIMIT:
                raise E.DiscretePaginationLimitExceeded(details={"limit": DISCRETE_LIMIT})
        records = self._select(module, params)
        records = self._sorted(module, records, sort_by, sort_order == "desc")
        end = offset + per_page
        if not token and end > DISCRETE_LIMIT:
            end = DISCRETE_LIMIT
        chunk = records[offset:end]
        if not chunk:
            return None
        more = len(records) > end
        next_token: str | None = None
        expiry: str | None = None
        if more:
            next_token = self._issue(binding, end, user_id)
            expiry = iso(self.page_tokens[next_token].expires_at)
        info = {
            "per_page": per_page,
            "count": len(chunk),
            "page": offset // per_page + 1,
            "sort_by": sort_by,
            "sort_order": sort_order,
            "more_records": more,
            "next_page_token": next_token,
            "previous_page_token": None,
            "page_token_expiry": expiry,
            "call": False,
            "email": False,
        }
        return Page([self.project(r, fields) for r in chunk], info)

    def _select(self, module: Module, params: Mapping[str, str]) -> list[Record] | None:
        """None means every record; `ids` narrows to the listed ones."""
        ids = params.get("ids")
        if not ids:
            return None
        wanted = [i.strip() for i in ids.split(",") if i.strip()]
        if len(wanted) > MAX_WRITE:
            raise E.LimitExceeded(details={"limit": MAX_WRITE, "param_name": "ids"})
        found = (self.sb.store.get(module.api_name, i) for i in wanted)
        return [r for r in found if r is not None]

    def _sorted(
        self,
        module: Module,
        selected: list[Record] | None,
        sort_by: str,
        descending: bool,
    ) -> list[Record]:
        if selected is None:
            return self.sb.store.ordered(module.api_name, sort_by, descending)
        key = (
            (lambda r: int(r["id"]))
            if sort_by == "id"
            else (lambda r: (r.get(sort_by) or "", r["id"]))
        )
        return sorted(selected, key=key, reverse=descending)

    def _binding(self, module: Module, params: Mapping[str, str]) -> str:
        bound = [
            (k, params.get(k) or "")
            for k in ("fields", "per_page", "sort_by", "sort_order", "cvid", "ids")
        ]
        return hashlib.sha1(repr((module.api_name, bound)).encode()).hexdigest()

    def _issue(self, binding: str, offset: int, user_id: str) -> str:
        token = secrets.token_hex(16)
        self.page_tokens[token] = PageToken(
            binding, offset, user_id, self.sb.clock.now() + PAGE_TOKEN_TTL
        )
        return token

    def _redeem(self, token: str, binding: str, user_id: str) -> int:
        state = self.page_tokens.get(token)
        if state is None or state.user_id != user_id:
            raise E.InvalidData(
                "invalid data", {"api_name": "page_token", "json_path": "$.query.page_token"}
            )
        if state.expires_at <= self.sb.clock.now():
            raise E.ExpiredValue(
                details={"api_name": "page_token", "json_path": "$.query.page_token"}
            )
        if state.binding != binding:
            raise E.TokenBoundDataMismatch(details={"param_name": "page_token"})
        limit = self.sb.config.page_token_limit
        if state.offset >= limit:
            raise E.PaginationLimitExceeded(
                f"You can only get upto {limit} records using page_token param",
                {"param_name": "page_token"},
            )
        return state.offset

    # -- GET /crm/v8/{module}/{id} ---------------------------------------------------------

    def get(self, module_name: str, record_id: str, fields_param: str | None) -> Record | None:
        module = self.module(module_name)
        if not record_id.isdigit():
            raise E.InvalidData("the id given seems to be invalid", {"resource_path_index": 1})
        fields = self._fields(module, fields_param, required=False)
        record = self.sb.store.get(module.api_name, record_id)
        return None if record is None else self.project(record, fields)

    # -- writes ----------------------------------------------------------------------------

    def write(
        self,
        module_name: str,
        body: Any,
        mode: str,
        *,
        path_id: str | None = None,
        duplicate_check_fields: list[str] | None = None,
    ) -> WriteResult:
        """POST (create), PUT (update) and POST /upsert: ≤ 100 records, per-record results."""
        module = self.module(module_name, per_item=True)
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise E.InvalidData(
                'the json body is invalid; expected {"data": [records]}',
                {"api_name": "data", "json_path": "$.data"},
                per_item=True,
            )
        items = body["data"]
        if not items:
            raise E.MandatoryNotFound(
                "required field not found",
                {"api_name": "data", "json_path": "$.data"},
                per_item=True,
            )
        if len(items) > MAX_WRITE:
            raise E.LimitExceeded(
                "count of records in your request exceeds the limit",
                {"maximum_length": MAX_WRITE, "api_name": "data"},
                per_item=True,
            )
        if path_id is not None and isinstance(items[0], dict):
            items = [{**items[0], "id": path_id}]
        dup_fields = duplicate_check_fields or body.get("duplicate_check_fields")
        results: list[dict[str, Any]] = []
        ok = 0
        for index, item in enumerate(items):
            try:
                results.append(self.apply(module, item, mode, index, dup_fields))
                ok += 1
            except E.ZohoError as exc:
                results.append(exc.to_json())
        if ok == len(items):
            status = 201 if mode == "create" else 200
        elif ok == 0:
            status = 400
        else:
            status = 207
        return WriteResult(results, status)

    def apply(
        self,
        module: Module,
        item: Any,
        mode: str,
        index: int = 0,
        duplicate_check_fields: list[str] | None = None,
    ) -> dict[str, Any]:
        """Validate and store one record; returns Zoho's success item or raises ZohoError."""
        path = f"$.data[{index}]"
        if not isinstance(item, dict):
            raise E.InvalidData("invalid data", {"api_name": "data", "json_path": path})
        store = self.sb.store
        action = mode
        existing: Record | None = None
        if mode == "upsert":
            existing = self._find_duplicate(module, item, duplicate_check_fields)
            action = "update" if existing is not None else "insert"
        elif mode == "update":
            raw_id = item.get("id")
            if raw_id is None:
                raise E.MandatoryNotFound(
                    "required field not found", {"api_name": "id", "json_path": f"{path}.id"}
                )
            existing = store.get(module.api_name, str(raw_id))
            if existing is None:
                raise E.InvalidData(
                    "the id given seems to be invalid",
                    {"api_name": "id", "json_path": f"{path}.id"},
                )
        values = self._validate(module, item, path)
        now = iso(self.sb.clock.now())
        me = self.sb.user_ref()
        if existing is None:
            record: Record = {f.api_name: None for f in module.fields}
            record.update(values)
            missing = [
                f.api_name
                for f in module.fields
                if f.system_mandatory and not record.get(f.api_name)
            ]
            if missing:
                raise E.MandatoryNotFound(
                    "required field not found",
                    {"api_name": missing[0], "json_path": f"{path}.{missing[0]}"},
                )
            record["id"] = store.new_id()
            record["Owner"] = record.get("Owner") or me
            record["Created_Time"] = record["Modified_Time"] = now
            record["Created_By"] = record["Modified_By"] = me
            message = "record added"
        else:
            record = {**existing, **values, "Modified_Time": now, "Modified_By": me}
            message = "record updated"
        if module.api_name == "Contacts":
            record["Full_Name"] = " ".join(
                p for p in (record.get("First_Name"), record.get("Last_Name")) if p
            )
        store.put(module.api_name, record)
        self.sb.writes[(module.api_name, record["id"])] += 1
        details: dict[str, Any] = {
            "Modified_Time": record["Modified_Time"],
            "Modified_By": {"name": me["name"], "id": me["id"]},
            "Created_Time": record["Created_Time"],
            "id": record["id"],
            "Created_By": {
                "name": (record.get("Created_By") or me)["name"],
                "id": (record.get("Created_By") or me)["id"],
            },
            "$approval_state": "approved",
        }
        result: dict[str, Any] = {
            "code": "SUCCESS",
            "details": details,
            "message": message,
            "status": "success",
        }
        if mode == "upsert":
            result["action"] = action
            result["duplicate_field"] = (duplicate_check_fields or [module.name_field])[0]
        return result

    def _find_duplicate(
        self, module: Module, item: dict[str, Any], fields: list[str] | None
    ) -> Record | None:
        if item.get("id") is not None:
            found = self.sb.store.get(module.api_name, str(item["id"]))
            if found is not None:
                return found
        for name in fields or [module.name_field]:
            value = item.get(name)
            if value in (None, ""):
                continue
            for record in self.sb.store.all(module.api_name):
                if record.get(name) == value:
                    return record
        return None

    def _validate(self, module: Module, item: dict[str, Any], path: str) -> Record:
        values: Record = {}
        for name, raw in item.items():
            if name == "id" or name.startswith("$") or name in SYSTEM_READ_ONLY:
                continue
            field = module.field(name)
            if field is None:
                raise E.InvalidData(
                    "the field api name given seems to be invalid",
                    {"api_name": name, "json_path": f"{path}.{name}"},
                )
            values[name] = self._coerce(field, raw, f"{path}.{name}")
        return values

    def _coerce(self, field: Field, raw: Any, json_path: str) -> Any:
        """A written value in the stored (Zoho JSON) shape; wrong types are INVALID_DATA."""

        def bad(**extra: Any) -> E.ZohoError:
            return E.InvalidData(
                "invalid data",
                {
                    "api_name": field.api_name,
                    "json_path": json_path,
                    "expected_data_type": field.data_type,
                    **extra,
                },
            )

        if raw is None:
            return None
        t = field.data_type
        if t in TEXT_TYPES:
            if not isinstance(raw, str):
                raise bad()
            limit = field.length or 255
            if len(raw) > limit:
                raise E.InvalidData(
                    "invalid data",
                    {"api_name": field.api_name, "json_path": json_path, "maximum_length": limit},
                )
            return raw
        if t == "picklist":
            if not isinstance(raw, str):
                raise bad()
            if raw not in field.picklist and raw != "-None-":
                raise bad(supported_values=list(field.picklist))
            return None if raw == "-None-" else raw
        if t in ("integer", "bigint"):
            if isinstance(raw, bool) or not isinstance(raw, int | str):
                raise bad()
            try:
                return int(raw)
            except ValueError:
                raise bad() from None
        if t in NUMBER_TYPES:
            if isinstance(raw, bool):
                raise bad()
            try:
                value = float(raw)
            except (TypeError, ValueError):
                raise bad() from None
            if not math.isfinite(value):
                raise bad()
            return value
        if t == "boolean":
            if not isinstance(raw, bool):
                raise bad()
            return raw
        if t == "date":
            try:
                return date.fromisoformat(str(raw)).isoformat()
            except ValueError:
                raise bad() from None
        if t == "datetime":
            try:
                dt = datetime.fromisoformat(str(raw))
            except ValueError:
                raise bad() from None
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
            return iso(dt)
        if t in LOOKUP_TYPES:
            ref_id = raw.get("id") if isinstance(raw, dict) else raw
            if ref_id is None:
                raise bad()
            ref_id = str(ref_id)
            if t in ("ownerlookup", "userlookup"):
                if self.sb.user(ref_id) is None:
                    raise E.InvalidData(
                        "invalid data", {"api_name": field.api_name, "json_path": json_path}
                    )
                return self.sb.user_ref(ref_id)
            target = self.sb.modules[field.lookup_module or ""]
            linked = self.sb.store.get(target.api_name, ref_id)
            if linked is None:
                raise E.InvalidData(
                    "invalid data", {"api_name": field.api_name, "json_path": json_path}
                )
            return {"name": linked.get(target.name_field), "id": ref_id}
        return raw

    # -- DELETE ----------------------------------------------------------------------------

    def delete(self, module_name: str, ids: list[str]) -> WriteResult:
        module = self.module(module_name)
        if not ids:
            raise E.RequiredParamMissing(
                "One of the expected parameter is missing", {"param_name": "ids"}
            )
        if len(ids) > MAX_WRITE:
            raise E.LimitExceeded(details={"limit": MAX_WRITE, "param_name": "ids"})
        items: list[dict[str, Any]] = []
        ok = 0
        for record_id in ids:
            if record_id.isdigit() and self.sb.store.delete(module.api_name, record_id):
                ok += 1
                items.append(
                    {
                        "code": "SUCCESS",
                        "details": {"id": record_id},
                        "message": "record deleted",
                        "status": "success",
                    }
                )
            else:
                items.append(
                    {
                        "code": "INVALID_DATA",
                        "details": {"id": record_id},
                        "message": "record not deleted",
                        "status": "error",
                    }
                )
        status = 200 if ok == len(ids) else (400 if ok == 0 else 207)
        return WriteResult(items, status)

    # -- search ----------------------------------------------------------------------------

    def search(self, module_name: str, params: Mapping[str, str]) -> Page | None:
        from sergas.sandbox import criteria as C

        module = self.module(module_name)
        fields = self._fields(module, params.get("fields"), required=False)
        per_page = _int_param(params, "per_page", MAX_PER_PAGE)
        if per_page > MAX_PER_PAGE:
            raise E.LimitExceeded(details={"limit": MAX_PER_PAGE, "param_name": "per_page"})
        page = _int_param(params, "page", 1)
        predicate: Callable[[Record], bool]
        if params.get("criteria"):
            predicate = C.parse_criteria(params["criteria"], module).matches
        elif params.get("email"):
            predicate = C.email_predicate(module, params["email"])
        elif params.get("phone"):
            predicate = C.phone_predicate(module, params["phone"])
        elif params.get("word"):
            predicate = C.word_predicate(module, params["word"])
        else:
            raise E.ExpectedParamMissing(
                details={"param_names": ["criteria", "email", "phone", "word"]}
            )
        offset = (page - 1) * per_page
        if offset >= SEARCH_LIMIT:
            raise E.LimitReached(details={"limit": str(SEARCH_LIMIT)})
        sort_by = params.get("sort_by") or "id"
        sort_order = (params.get("sort_order") or "asc").lower()
        if sort_by not in SORTABLE:
            raise E.InvalidData("invalid data", {"param_name": "sort_by"})
        candidates = self.sb.store.ordered(module.api_name, sort_by, sort_order == "desc")
        end = min(offset + per_page, SEARCH_LIMIT)
        matched: list[Record] = []
        more = False
        for record in candidates:
            if predicate(record):
                if len(matched) >= end:
                    more = end < SEARCH_LIMIT
                    break
                matched.append(record)
        chunk = matched[offset:end]
        if not chunk:
            return None
        info = {
            "per_page": per_page,
            "count": len(chunk),
            "page": page,
            "sort_by": sort_by,
            "sort_order": sort_order,
            "more_records": more,
        }
        return Page([self.project(r, fields) for r in chunk], info)

    # -- COQL ------------------------------------------------------------------------------

    def coql(self, body: Any) -> tuple[Page | None, int]:
        """POST /crm/v8/coql; returns the page and the credits the query's LIMIT costs."""
        from sergas.sandbox import coql as Q

        query = body.get("select_query") if isinstance(body, dict) else None
        if not isinstance(query, str) or not query.strip():
            raise E.MandatoryNotFound("required field not found", {"api_name": "select_query"})
        result = Q.execute(query, self.sb.store, self.sb.modules)
        credits = Q.credits_for_limit(result.limit)
        if not result.rows:
            return None, credits
        info = {"count": len(result.rows), "more_records": result.more_records}
        return Page(result.rows, info), credits
