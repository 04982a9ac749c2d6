"""COQL, the SELECT subset Zoho CRM accepts at POST /crm/v8/coql.

    select <columns> from <Module> [where <expr>] [group by <cols>]
        [order by <col> [asc|desc], ...] [limit N [offset M] | limit M, N]

Columns are field api names, `id`, one-level lookup joins (`Account_Name.Account_Name`,
`Parent_Account.id`, `Owner.id`) and the aggregates COUNT, SUM, MIN, MAX and AVG (upper case,
as Zoho requires). Keywords are case-insensitive. The WHERE clause takes
`= != <> > >= < <=`, `[not] like`, `[not] in (...)`, `[not] between .. and ..` and
`is [not] null`, combined with `and` / `or` and brackets; `and` binds tighter than `or`
(Zoho insists on brackets once there are more than two conditions; the sandbox does not).

The query is parsed and checked completely before any record is read; the WHERE clause is
compiled into one predicate. Without WHERE and ordered by id, a page is a slice of the
store's id-ordered list.

The package: `parser` (text to a `Query`), `columns` (names to fields and joins), `where`
(operators per type, one predicate), `ordering`, `execute` (limits, paging, rows) and
`aggregate` (GROUP BY and aggregates); `query` holds the parsed shape and Zoho's limits.
"""

from sergas.sandbox.coql.execute import execute
from sergas.sandbox.coql.query import CoqlResult, credits_for_limit
from sergas.sandbox.coql.where import operators_for

__all__ = ["CoqlResult", "credits_for_limit", "execute", "operators_for"]
