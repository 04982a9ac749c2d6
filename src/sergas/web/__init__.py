"""The dashboard `sergas serve` shows at `/`: the sweep's picture, each owner's brief, each
account's story, and the approval queue. Server-rendered HTML (Jinja2 templates and one
stylesheet shipped in this package, inline SVG charts), readable with JavaScript off and
nothing fetched from elsewhere. See docs/dashboard.md.

```
/signin, /signout          an API key → a session cookie (sergas.web.auth)
/                          the latest sweep: counts, distribution, trend, moves, owners
/owners/{owner id}         one owner's brief
/accounts/{record id}      score over time, why, and the account's records in the CRM
/approvals                 pending proposals; POST /approvals/{id} decides (write scope)
```

Browsers sign in once; scripts send `Authorization: Bearer <API key>` on each request.
"""

from fastapi import APIRouter

from sergas.web import approvals, pages, signin

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
router.include_router(signin.router)
router.include_router(pages.router)
router.include_router(approvals.router)
