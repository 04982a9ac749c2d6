"""Where Zoho's OpenAPI files contradict Zoho's own examples: the findings and statuses a
conformance case may pass with, each citing the example, each noted on the report."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.conformance.cases import Case
from tests.conformance.oas import Finding

# -- where Zoho's schemas contradict Zoho's own examples ----------------------------------------
#
# Each entry names the schema rule, the Zoho document that contradicts it (zoho/crm-oas on
# GitHub, v8.0/..., or a page of Zoho's API docs), and matches only the exact value that
# document shows, so a sandbox that drifts from Zoho's example still fails.

CRM_OAS = "github.com/zoho/crm-oas v8.0"


@dataclass(frozen=True)
class Gap:
    """A finding explained by Zoho contradicting itself; the case passes with `reason` noted."""

    reason: str
    spec: str
    path: str  # regex on Finding.path
    keyword: str | None = None
    instance: Callable[[Any], bool] = lambda _: True
    missing: Callable[[str], bool] | None = None  # for `required` findings
    cases: frozenset[str] | None = None  # Case.id values, when narrower than the spec
    body: Callable[[Any], bool] | None = None  # the whole body must look like Zoho's example

    def explains(self, case: Case, body: Any, finding: Finding) -> bool:
        return (
            case.spec == self.spec
            and (self.cases is None or case.id in self.cases)
            and re.fullmatch(self.path, finding.path) is not None
            and (self.keyword is None or finding.keyword == self.keyword)
            and self.instance(finding.instance)
            and (self.missing is None or self.missing(finding.missing or ""))
            and (self.body is None or self.body(body))
        )


def equals(value: Any) -> Callable[[Any], bool]:
    return lambda instance: instance == value and type(instance) is type(value)


def is_int(instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


def _message_gap(spec: str, message: str, source: str) -> Gap:
    return Gap(
        f"{spec}: API_Exception.message enum lacks {message!r}, which {source} returns",
        spec,
        r"\$(\.data\[\d+\])?\.message",
        "enum",
        equals(message),
    )


def _code_gap(spec: str, code: str, source: str) -> Gap:
    return Gap(
        f"{spec}: API_Exception.code enum lacks {code}, which {source} returns",
        spec,
        r"\$(\.data\[\d+\])?\.code",
        "enum",
        equals(code),
    )


GET_RECORDS_EXAMPLES = f"{CRM_OAS}/record/operations/getRecords/examples"
R = "record.json"

# Keys that Zoho's own examples carry on every item; a `required` key outside these sets is
# one Zoho's example omits too.
MODULE_EXAMPLE_KEYS = frozenset(
    (
        "has_more_profiles", "access_type", "private_profile", "global_search_supported",
        "deletable", "description", "creatable", "recycle_bin_on_delete", "modified_time",
        "plural_label", "presence_sub_menu", "actual_plural_label", "lookupable", "id",
        "isBlueprintSupported", "visibility", "convertable", "sub_menu_available", "editable",
        "actual_singular_label", "profiles", "show_as_tab", "web_link", "sequence_number",
        "singular_label", "viewable", "api_supported", "api_name", "quick_create", "modified_by",
        "generated_type", "feeds_required", "public_fields_configured", "arguments", "module_name",
        "profile_count", "business_card_field_limit", "parent_module", "status",
    )
)
# What a layout adds to each field: these the sandbox gives, so a missing one still fails.
LAYOUT_FIELD_KEYS = frozenset(("required", "sequence_number", "section_id"))
FIELD_EXAMPLE_KEYS = frozenset(
    (
        "associated_module", "webhook", "operation_type", "colour_code_enabled_by_system",
        "field_label", "tooltip", "display_format_properties", "type", "field_read_only",
        "customizable_properties", "display_label", "read_only", "association_details",
        "businesscard_supported", "multi_module_lookup", "id", "created_time", "filterable",
        "visible", "profiles", "view_type", "separator", "searchable", "history_tracking_enabled",
        "external", "api_name", "parent_field", "unique", "enable_colour_code", "child_fields",
        "pick_list_values", "system_mandatory", "private", "virtual_field", "json_type", "crypt",
        "range", "created_source", "display_type", "ui_type", "modified_time", "public",
        "email_parser", "currency", "custom_field", "lookup", "hipaa_compliance",
        "convert_mapping", "address", "rollup_summary", "length", "column_name", "display_field",
        "pick_list_values_sorted_lexically", "sortable", "global_picklist", "display_format",
        "history_tracking", "data_type", "formula", "additional_column",
        "hipaa_compliance_enabled", "decimal_place", "mass_update", "multiselectlookup",
        "auto_number",
    )
)

KNOWN_GAPS: list[Gap] = [
    # record.json (records, and the search path it documents too)
    Gap(
        f"{R}#/components/schemas/Info types next_page_token, previous_page_token and "
        f"page_token_expiry as non-nullable strings, but {GET_RECORDS_EXAMPLES}/"
        'response-200-leads.md returns "previous_page_token": null and Zoho\'s getRecords '
        "operation.md declares all three nullable",
        R,
        r"\$\.info\.(next_page_token|previous_page_token|page_token_expiry)",
        "type",
        lambda instance: instance is None,
    ),
    _message_gap(R, "required param is missing",
                 f"{GET_RECORDS_EXAMPLES}/response-400-requiredparammissing.md"),
    _message_gap(R, "limit exceeded", f"{GET_RECORDS_EXAMPLES}/response-400-limitexceeded.md"),
    _message_gap(R, "the module name given seems to be invalid",
                 f"{GET_RECORDS_EXAMPLES}/response-400-invaliddata.md (and createRecords/"
                 "examples/response-400-invalidmodule.md)"),
    _code_gap(R, "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
              f"{GET_RECORDS_EXAMPLES}/response-400-discretepaginationlimitexceeded.md"),
    _message_gap(R, "You can only get the first 2000 records without using page_token param",
                 f"{GET_RECORDS_EXAMPLES}/response-400-discretepaginationlimitexceeded.md"),
    _code_gap(R, "TOKEN_BOUND_DATA_MISMATCH",
              f"{GET_RECORDS_EXAMPLES}/response-400-tokenbounddatamismatch.md"),
    _message_gap(R, "The page_token given seems to be invalid or input param is added or "
                 "altered or deleted",
                 f"{GET_RECORDS_EXAMPLES}/response-400-tokenbounddatamismatch.md"),
    _code_gap(R, "EXPIRED_VALUE", f"{GET_RECORDS_EXAMPLES}/response-400-expiredvalue.md"),
    _message_gap(R, "Page token expired", f"{GET_RECORDS_EXAMPLES}/response-400-expiredvalue.md"),
    _code_gap(R, "AMBIGUITY_DURING_PROCESSING",
              f"{CRM_OAS}/record/operations/getRecords/operation.md "
              "(AmbiguityDuringProcessingGETError)"),
    Gap(
        f"{R}: no Zoho example gives the message of AMBIGUITY_DURING_PROCESSING for "
        "page + page_token (getRecords operation.md documents the code with a free-text "
        "message), so the message is not checked",
        R,
        r"\$\.message",
        "enum",
        cases=frozenset({"record.get_records.page_with_page_token"}),
    ),
    _message_gap(R, "the field api name given seems to be invalid",
                 f"{CRM_OAS}/record/operations/createRecords/examples/response-207-mixedresults.md"),
    _message_gap(R, "count of records in your request exceeds the limit",
                 f"{CRM_OAS}/record/operations/updateRecord/examples/"
                 "response-400-limitexceedederror.md"),
    Gap(
        f"{R}: API_Exception.details.maximum_length is typed string, but Zoho's examples "
        f"{CRM_OAS}/record/operations/createRecords/examples/response-400-invaliddatalength.md "
        "and updateRecord/examples/response-400-limitexceedederror.md give a number",
        R,
        r"\$\.data\[\d+\]\.details\.maximum_length",
        "type",
        is_int,
    ),
    _message_gap(R, "invalid record id",
                 f"{CRM_OAS}/record/operations/deleteRecord/examples/"
                 "response-400-invalidrecordid.md"),
    _code_gap(R, "EXPECTED_PARAM_MISSING",
              "module_search.json#/components/schemas/Mandatory_Param_Missing and "
              f"{CRM_OAS}/module_search/mds/examples/searchRecords.md"),
    _message_gap(R, "maximum response iteration limit reached",
                 "module_search.json#/components/schemas/Max_records"),
    Gap(
        f"{R}: API_Exception.details.limit is typed integer, but for LIMIT_REACHED "
        'module_search.json#/components/schemas/Max_records documents the string "2000"',
        R,
        r"\$\.details\.limit",
        "type",
        equals("2000"),
        cases=frozenset({"record.search_records.past_2000_records"}),
    ),
    Gap(
        f"{R}: API_Exception.message's enum has 'invalid query formed', while "
        "module_search.json#/components/schemas/InvalidQuery (the same search endpoint) only "
        "admits 'Invalid query formed', the casing Zoho's examples use (e.g. "
        f"{CRM_OAS}/coql/operations/executeCOQLQuery/examples/"
        "response-400-invalidqueryinvalidoperator.md)",
        R,
        r"\$\.message",
        "enum",
        equals("Invalid query formed"),
    ),
    # coql.json
    Gap(
        "coql.json: no 400 branch admits SYNTAX_ERROR with details {near} and the message "
        "'error occured while parsing the query' (Syntax_Exception wants {clause} or "
        "{line,column,near}; Query_Exception's message enum lacks it), yet that is exactly "
        f"{CRM_OAS}/coql/operations/executeCOQLQuery/examples/response-400-syntaxerrornear.md",
        "coql.json",
        r".*",
        body=lambda b: b.get("code") == "SYNTAX_ERROR"
        and b.get("message") == "error occured while parsing the query"
        and set(b.get("details", {})) == {"near"},
    ),
    Gap(
        "coql.json: no 400 branch admits INVALID_MODULE, yet "
        f"{CRM_OAS}/coql/operations/executeCOQLQuery/examples/response-400-invalidmodule.md "
        "returns exactly this body",
        "coql.json",
        r".*",
        body=equals(
            {
                "code": "INVALID_MODULE",
                "details": {},
                "message": "the given module is not supported in api",
                "status": "error",
            }
        ),
    ),
    # users.json
    Gap(
        "users.json#/components/schemas/owner (Modified_By) requires first_name and last_name, "
        f"but {CRM_OAS}/users/operations/getUsers/examples/response-200-usersgetresponse.md "
        "gives Modified_By as {name, id}",
        "users.json",
        r"\$\.users\[\d+\]\.Modified_By",
        "required",
        missing=lambda key: key in ("first_name", "last_name"),
    ),
    Gap(
        "users.json: Reporting_To is not nullable, but Zoho's getUsers example "
        '(response-200-usersgetresponse.md) returns "Reporting_To": null',
        "users.json",
        r"\$\.users\[\d+\]\.Reporting_To",
        "type",
        lambda instance: instance is None,
    ),
    Gap(
        "users.json: date_format's enum is ['MMM d, yyyy'], but Zoho's getUsers example "
        '(response-200-usersgetresponse.md) returns "MM/dd/yyyy"',
        "users.json",
        r"\$\.users\[\d+\]\.date_format",
        "enum",
        equals("MM/dd/yyyy"),
    ),
    Gap(
        "users.json: email's pattern [a-z0-9]{9}[@][a-z0-9]{5}[.]com rejects Zoho's own "
        'example address "user@example.com" (getUsers response-200-usersgetresponse.md); '
        "Zoho's getUsers operation.md gives a general e-mail pattern",
        "users.json",
        r"\$\.users\[\d+\]\.email",
        "pattern",
    ),
    Gap(
        "users.json: time_zone is typed object, but Zoho's getUsers operation.md documents "
        "it as a string (an IANA zone such as Etc/UTC)",
        "users.json",
        r"\$\.users\[\d+\]\.time_zone",
        "type",
        lambda instance: isinstance(instance, str),
    ),
    # org.json
    Gap(
        "org.json#/components/schemas/License_Details: paid_expiry is not nullable, but "
        f"{CRM_OAS}/org/operations/getOrganization/examples/response-200-orggetresponse.md "
        'returns "paid_expiry": null',
        "org.json",
        r"\$\.org\[\d+\]\.license_details\.paid_expiry",
        "type",
        lambda instance: instance is None,
    ),
    Gap(
        "org.json: Org.type's enum has 'Production', but Zoho's getOrganization example "
        '(response-200-orggetresponse.md) returns "type": "production"',
        "org.json",
        r"\$\.org\[\d+\]\.type",
        "enum",
        equals("production"),
    ),
    # modules.json, fields.json: required keys Zoho's own examples leave out
    Gap(
        "modules.json requires keys that Zoho's example "
        f"{CRM_OAS}/modules/operations/getModules/examples/"
        "response-200-allmoduleswithvariations.md omits",
        "modules.json",
        r"\$\.modules\[\d+\]",
        "required",
        missing=lambda key: key not in MODULE_EXAMPLE_KEYS,
    ),
    Gap(
        "fields.json requires keys that Zoho's example "
        f"{CRM_OAS}/fields/operations/getFields/examples/response-200-fullexample.md omits",
        "fields.json",
        r"\$\.fields\[\d+\]",
        "required",
        missing=lambda key: key not in FIELD_EXAMPLE_KEYS,
    ),
    Gap(
        "modules.json: modules[].modified_by is a non-nullable object, but Zoho's getModules "
        "example (response-200-allmoduleswithvariations.md) returns \"modified_by\": null",
        "modules.json",
        r"\$\.modules\[\d+\]\.modified_by",
        "type",
        lambda instance: instance is None,
    ),
    Gap(
        "fields.json: associated_module, association_details, crypt, external, "
        "hipaa_compliance, history_tracking and tooltip are non-nullable objects, but Zoho's "
        "getFields example (response-200-fullexample.md) returns them as null",
        "fields.json",
        r"\$\.fields\[\d+\]\.(associated_module|association_details|crypt|external"
        r"|hipaa_compliance|history_tracking|tooltip)",
        "type",
        lambda instance: instance is None,
    ),
    # layouts.json: a section's fields are the same field objects
    Gap(
        "layouts.json requires keys on a layout section's fields that Zoho's getFields "
        f"example ({CRM_OAS}/fields/operations/getFields/examples/response-200-fullexample.md) "
        "omits for the same field objects",
        "layouts.json",
        r"\$\.layouts\[\d+\]\.sections\[\d+\]\.fields\[\d+\]",
        "required",
        missing=lambda key: key not in FIELD_EXAMPLE_KEYS | LAYOUT_FIELD_KEYS,
    ),
    Gap(
        "layouts.json: a section field's associated_module, association_details, crypt, "
        "external, hipaa_compliance, history_tracking and tooltip are non-nullable objects, but "
        "Zoho's getFields example (response-200-fullexample.md) returns them as null",
        "layouts.json",
        r"\$\.layouts\[\d+\]\.sections\[\d+\]\.fields\[\d+\]\.(associated_module"
        r"|association_details|crypt|external|hipaa_compliance|history_tracking|tooltip)",
        "type",
        lambda instance: instance is None,
    ),
    # bulk_read.json
    Gap(
        "bulk_read.json#/components/schemas/Job_Detail requires result, but "
        f"{CRM_OAS}/bulk_read/operations/getBulkReadJobDetails/examples/response-200-example1.md "
        "has none (even for a COMPLETED job)",
        "bulk_read.json",
        r"\$\.data\[\d+\]",
        "required",
        missing=equals("result"),
    ),
    Gap(
        "bulk_read.json#/components/schemas/Query requires cvid, fields, criteria and "
        "file_type (file_type limited to 'ics'), but Zoho's getBulkReadJobDetails example "
        "(response-200-example1.md) echoes the query as {module, page}",
        "bulk_read.json",
        r"\$\.data\[\d+\]\.query",
        "required",
        missing=lambda key: key in ("cvid", "fields", "criteria", "file_type"),
    ),
    Gap(
        "bulk_read.json#/components/schemas/Result requires next_page_token, but Zoho's "
        "bulk-read docs (v7 create-job page, callback sample for a COMPLETED job) show a "
        "result without it when more_records is false",
        "bulk_read.json",
        r"\$\.data\[\d+\]\.result",
        "required",
        missing=equals("next_page_token"),
    ),
    # bulk_write.json
    Gap(
        "bulk_write.json#/components/schemas/Success_Response requires details.id and "
        f"details.created_by, but Zoho's uploadFile examples in {CRM_OAS} and the v7 "
        "upload-file page return details {file_id, created_time} only",
        "bulk_write.json",
        r"\$\.details",
        "required",
        missing=lambda key: key in ("id", "created_by"),
        cases=frozenset({"bulk_write.upload_file.uploaded"}),
    ),
    Gap(
        "bulk_write.json#/components/schemas/Success_Response types details.file_id as "
        f"integer, but Zoho's uploadFile examples in {CRM_OAS} and the v7 upload-file page "
        'give a string ("abc123xyz", "111111000001492610")',
        "bulk_write.json",
        r"\$\.details\.file_id",
        "type",
        lambda instance: isinstance(instance, str),
        cases=frozenset({"bulk_write.upload_file.uploaded"}),
    ),
    _message_gap("bulk_write.json", "Required key x-crm-org is not available",
                 f"Zoho's uploadFile examples in {CRM_OAS} (OrgHeaderMissing, HTTP 400)"),
    _code_gap("bulk_write.json", "FILE_NOT_FOUND",
              f"{CRM_OAS}/bulk_write/operations/createBulkWriteJob/operation.md "
              "(documented 400 variant 'no uploaded file exists for the supplied file ID')"),
    Gap(
        "bulk_write.json: API_Exception.message's enum holds the example text \"Requested "
        "module 'asdf' is not available.\", so no other module name can match",
        "bulk_write.json",
        r"\$\.message",
        "enum",
        lambda instance: re.fullmatch(r"Requested module '.+' is not available\.", instance)
        is not None,
    ),
    Gap(
        "bulk_write.json: field_mappings[].format and find_by are not nullable, but Zoho's "
        f"{CRM_OAS}/bulk_write/operations/getBulkWriteJobDetails/operation.md says they are "
        "returned as null when not supplied",
        "bulk_write.json",
        r"\$\.resource\[\d+\]\.field_mappings\[\d+\]\.(format|find_by)",
        "type",
        lambda instance: instance is None,
    ),
]


# -- /settings: layouts, custom views, related lists, tags -------------------------------------

LAYOUTS_OPERATION = f"{CRM_OAS}/layouts/operations/getLayouts/operation.md"
CV_EXAMPLES = f"{CRM_OAS}/custom_views/operations"
# The keys of Zoho's custom-view examples: the list (getCustomViews) and one view (by id).
CV_LIST_EXAMPLE_KEYS = frozenset((
    "display_value", "created_time", "access_type", "system_name", "created_by", "default",
    "modified_time", "name", "system_defined", "modified_by", "id", "category",
    "last_accessed_time", "locked",
))
CV_EXAMPLE_KEYS = CV_LIST_EXAMPLE_KEYS | frozenset((
    "criteria", "sort_by", "$modified_criteria", "sort_order", "shared_to", "cross_filters",
    "fields", "favorite",
))
SETTINGS_GAPS: list[Gap] = [
    *(
        Gap(
            f"{spec}: a missing or unknown module parameter's error wants details.param, but "
            f"Zoho's getLayouts operation.md ({LAYOUTS_OPERATION}, ErrorDetails) names it "
            "details.param_name, as fields.json and the record APIs do",
            spec,
            r"\$\.details",
            "required",
            missing=equals("param"),
        )
        for spec in ("layouts.json", "related_lists.json", "tags.json", "custom_views.json")
    ),
    Gap(
        "layouts.json: InvalidParamError's code enum is ['InvalidModule'], but Zoho's "
        f"getLayouts operation.md ({LAYOUTS_OPERATION}) and its other /settings files give "
        "INVALID_MODULE",
        "layouts.json",
        r"\$\.code",
        "enum",
        equals("INVALID_MODULE"),
    ),
    Gap(
        "layouts.json: convert_mapping is a non-nullable object, but Zoho's getLayouts "
        f"operation.md ({LAYOUTS_OPERATION}) allows null (\"No Convert Mapping\") for modules "
        "that do not convert",
        "layouts.json",
        r"\$\.layouts\[\d+\]\.convert_mapping",
        "type",
        lambda instance: instance is None,
    ),
    Gap(
        "layouts.json requires Invoices and SalesOrders in convert_mapping, but Zoho's "
        f"getLayouts operation.md ({LAYOUTS_OPERATION}) gives a lead's mapping as Contacts, "
        "Deals and Accounts",
        "layouts.json",
        r"\$\.layouts\[\d+\]\.convert_mapping",
        "required",
        missing=lambda key: key in ("Invoices", "SalesOrders"),
    ),
    Gap(
        "custom_views.json requires keys that Zoho's examples omit "
        f"({CV_EXAMPLES}/getCustomViews/examples/response-200-successresponse.md for the "
        "list, getCustomViewById/examples/response-200-successresponse.md for one view)",
        "custom_views.json",
        r"\$\.custom_views\[\d+\]",
        "required",
        missing=lambda key: key not in CV_EXAMPLE_KEYS,
    ),
    Gap(
        "custom_views.json: a listed view requires its criteria, fields, sorting and sharing, "
        f"but Zoho's getCustomViews example ({CV_EXAMPLES}/getCustomViews/examples/"
        "response-200-successresponse.md) lists views without them",
        "custom_views.json",
        r"\$\.custom_views\[\d+\]",
        "required",
        missing=lambda key: key in CV_EXAMPLE_KEYS - CV_LIST_EXAMPLE_KEYS,
        cases=frozenset({"custom_views.get_custom_views.accounts",
                         "custom_views.get_custom_views.leads"}),
    ),
    Gap(
        "custom_views.json: sort_by is a non-nullable object and sort_order an enum without "
        f"null, but Zoho's getCustomViewById example ({CV_EXAMPLES}/getCustomViewById/examples/"
        "response-200-successresponse.md) returns both as null",
        "custom_views.json",
        r"\$\.custom_views\[\d+\]\.sort_(by|order)",
        None,
        lambda instance: instance is None,
    ),
    Gap(
        "custom_views.json types a criteria's value as an object and requires group and "
        f"group_operator on a single condition, but Zoho's getCustomViewById example "
        f"({CV_EXAMPLES}/getCustomViewById/examples/response-200-successresponse.md) gives "
        '{"comparator", "field", "type", "value": "1"}',
        "custom_views.json",
        r"\$\.custom_views\[\d+\]\.criteria(\.value)?",
        None,
        lambda instance: not isinstance(instance, dict) or "group" not in instance,
        missing=None,
    ),
    Gap(
        "custom_views.json requires per_page, count, page, more_records and default in the "
        f"info of one view, but Zoho's getCustomViewById example ({CV_EXAMPLES}/"
        "getCustomViewById/examples/response-200-successresponse.md) gives only translation",
        "custom_views.json",
        r"\$\.info",
        "required",
        cases=frozenset({"custom_views.get_custom_view.found"}),
    ),
]
KNOWN_GAPS += SETTINGS_GAPS

# -- related records, count ---------------------------------------------------------------------

RELATED_CASES = frozenset({
    "record.get_records.related_list_unknown",
    "record.update_records.relate",
    "record.update_records.relate_unknown",
    "record.delete_records.delink",
})
RELATED_RECORDS_OAS = f"{CRM_OAS}/related_records.json"
ACTIVITY_GAPS: list[Gap] = [
    Gap(
        "record.json, the stand-in for related records, enumerates its own messages; Zoho's "
        f"related_records.json ({RELATED_RECORDS_OAS}) takes any message for INVALID_DATA and "
        "for a per-record result, and Zoho's delink docs (v2 delink page) answer "
        "\"relation removed\"",
        R,
        r"\$(\.data\[\d+\])?\.message",
        "enum",
        lambda instance: instance in (
            "the relation name given seems to be invalid",
            "the related id given seems to be invalid",
            "relation added",
            "relation removed",
        ),
        cases=RELATED_CASES,
    ),
    Gap(
        "record.json types Record Count's count as a string, but Zoho's example "
        f"({CRM_OAS}/record_count/operations/getRecordCount/examples/response-200-success.md) "
        'gives a number ("count": 42)',
        R,
        r"\$\.count",
        "type",
        is_int,
    ),
]
KNOWN_GAPS += ACTIVITY_GAPS


# -- requests: what Zoho's docs send that its files leave out --------------------------------

SEARCH_EXAMPLES = f"{CRM_OAS}/module_search/mds/examples/searchRecords.md"
REQUEST_GAPS: list[Gap] = [
    Gap(
        "module_search.json marks per_page required, but Zoho's parameter examples "
        f"({SEARCH_EXAMPLES}) give 200 as its default",
        "module_search.json",
        r"query\.per_page",
        "required",
    ),
    Gap(
        "module_search.json does not declare page and fields, but Zoho's parameter examples "
        f"({SEARCH_EXAMPLES}) use both, and record.json declares them for the same endpoint",
        "module_search.json",
        r"query\.(page|fields)",
        "parameter",
    ),
    Gap(
        "users.json: type's enum lacks AllUsers, AdminUsers, DeletedUsers, ActiveConfirmedAdmins "
        "and ConfirmedReportingUsers, which Zoho's getUsers operation.md "
        f"({CRM_OAS}/users/operations/getUsers/operation.md) lists as user types",
        "users.json",
        r"query\.type",
        "enum",
        lambda v: v in ("AllUsers", "AdminUsers", "DeletedUsers", "ActiveConfirmedAdmins",
                        "ConfirmedReportingUsers"),
    ),
    Gap(
        "record.json types a record's id as a string; Zoho's official SDK (zohocrmsdk8-0) "
        "sends ids in write bodies as JSON numbers",
        R,
        r"body\.data\[\d+\]\.id",
        "type",
        is_int,
    ),
    Gap(
        "bulk_read.json's Query requires cvid, fields, criteria, file_type and page (and "
        f"module.id), but Zoho's request example ({CRM_OAS}/bulk_read/operations/"
        "createBulkReadJob/examples/request.md) sends only module.api_name",
        "bulk_read.json",
        r"body\.query(\.module)?",
        "required",
        missing=lambda key: key in ("cvid", "fields", "criteria", "file_type", "page", "id"),
    ),
    Gap(
        "bulk_read.json's Criteria requires type and field.id, but Zoho's bulk-read docs (v7 "
        'create-job page) write a condition as {"field": {"api_name"}, "comparator", "value"}',
        "bulk_read.json",
        r"body\.query\.criteria(\.field)?",
        "required",
        missing=lambda key: key in ("type", "id"),
    ),
    Gap(
        "bulk_read.json types a condition's value as an object, but Zoho's bulk-read docs (v7 "
        "create-job page) give plain values (a number, a string, a list for in and between)",
        "bulk_read.json",
        r"body\.query\.criteria\.value",
        "type",
        lambda v: not isinstance(v, dict),
    ),
    Gap(
        "bulk_write.json requires resource[].module.id, but Zoho's request example "
        f"({CRM_OAS}/bulk_write/operations/createBulkWriteJob/examples/request.md) sends "
        "module.api_name only",
        "bulk_write.json",
        r"body\.resource\[\d+\]\.module",
        "required",
        missing=equals("id"),
    ),
]
KNOWN_GAPS += REQUEST_GAPS


@dataclass(frozen=True)
class StatusGap:
    """Zoho's example answers `status` where the schema documents `documented_as`.

    The body is still validated against the `documented_as` schema; the case then passes with
    the reason noted, so the disagreement stays visible.
    """

    case_ids: frozenset[str]
    status: int
    documented_as: str | None  # None: a status with no body (204, 304)
    reason: str


USERS_IMS = (
    "users.json declares the If-Modified-Since header for GET /users and /users/{user} but "
    "documents no 304 answer; Zoho's official SDK sends the header (GetUsersHeader, "
    "GetUserHeader) and takes a 304"
)
RECORDS_IMS = (
    "record.json declares the If-Modified-Since header for Get Records, Get Record and Get "
    "Deleted Records, and lists 'Not Modified' among its codes, but documents only 200; "
    "Zoho's official SDK sends the header (GetRecordsHeader, GetRecordHeader, "
    "GetDeletedRecordsHeader) and takes a 304"
)
STATUS_GAPS: list[StatusGap] = [
    StatusGap(
        frozenset({
            "record.get_records.not_modified_since",
            "record.get_record.not_modified_since",
            "record.get_deleted_records.not_modified_since",
        }),
        304,
        None,
        RECORDS_IMS,
    ),
    StatusGap(
        frozenset({"record.get_records.related_none"}),
        204,
        None,
        "record.json, the stand-in for related records, documents only 200; Zoho's "
        f"related_records.json ({RELATED_RECORDS_OAS}) answers 204 when the record has no "
        "related records",
    ),
    StatusGap(
        frozenset({"users.get_users.not_modified_since", "users.get_user.not_modified_since"}),
        304,
        None,
        USERS_IMS,
    ),
    StatusGap(
        frozenset({"bulk_read.download_bulk_read.not_finished"}),
        404,
        "400",
        "bulk_read.json documents RESOURCE_NOT_FOUND for the result download under 400, but "
        f"{CRM_OAS}/bulk_read/operations/downloadBulkReadResult/examples/"
        "response-404-example1.md returns it with 404",
    ),
]
