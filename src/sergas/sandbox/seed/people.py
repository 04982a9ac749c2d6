"""The org and its CRM users, as GET /crm/v8/org and GET /crm/v8/users show them."""

from __future__ import annotations

import random
from typing import Any

from sergas.sandbox.clock import iso
from sergas.sandbox.schema import ID_BASE
from sergas.sandbox.seed.words import CITIES, FIRST_NAMES, LAST_NAMES

DAY = 86_400
# Record ids start at ID_BASE + 1001, so they stay below the user ids for the first ~399,000
# records (about 45,000 seeded accounts).
USER_ID_BASE = 5725767000000400001
USER_DOMAIN = "sergas-sandbox.example"
ORG_ID = str(ID_BASE + 7)
# Role and profile ids sit below the store's first record id (ID_BASE + 1001).
ROLE_IDS = {
    "CEO": str(ID_BASE + 101),
    "Manager": str(ID_BASE + 102),
    "Sales Rep": str(ID_BASE + 103),
}
PROFILE_IDS = {"Administrator": str(ID_BASE + 201), "Standard": str(ID_BASE + 202)}
# Users were created before any account: from 2021-03-01T09:00:00+00:00, a day apart.
_USERS_CREATED = 1_614_589_200
_MANAGERS = 3  # users 1..3 are managers; later users are sales reps reporting to them


def build_users(seed: int, count: int = 20) -> list[dict[str, Any]]:
    """The org's CRM users as GET /crm/v8/users lists them; the first is the current user.

    The first user is the admin (profile Administrator, role CEO); users 1-3 are managers
    reporting to the admin and the rest sales reps reporting to a manager. A user depends
    only on the seed and its position, so `build_users(s, n)[:m] == build_users(s, m)`.
    """
    if count < 1:
        raise ValueError("an org needs at least one user")
    if count > len(FIRST_NAMES) * len(LAST_NAMES):
        raise ValueError(f"at most {len(FIRST_NAMES) * len(LAST_NAMES)} users")
    rng = random.Random(seed)
    zuid_base = rng.randrange(600_000_000, 800_000_000)
    taken: set[tuple[str, str]] = set()
    firsts: set[str] = set()
    lasts: set[str] = set()
    distinct = min(len(FIRST_NAMES), len(LAST_NAMES))
    users: list[dict[str, Any]] = []
    for i in range(count):
        # Distinct first and last names while the lists last, then distinct pairs.
        while True:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            if (first, last) in taken or (i < distinct and (first in firsts or last in lasts)):
                continue
            taken.add((first, last))
            firsts.add(first)
            lasts.add(last)
            break
        if i == 0:
            role, profile = "CEO", "Administrator"
        elif i <= _MANAGERS:
            role, profile = "Manager", "Standard"
        else:
            role, profile = "Sales Rep", "Standard"
        created = _USERS_CREATED + i * DAY
        modified = created + rng.randrange(30 * DAY, 400 * DAY)
        city, country, phone_prefix, _ = CITIES[rng.randrange(9)]  # US-based team
        full_name = f"{first} {last}"
        user_id = str(USER_ID_BASE + i)
        admin = users[0] if users else None
        admin_ref = (
            {"name": admin["full_name"], "id": admin["id"]}
            if admin is not None
            else {"name": full_name, "id": user_id}  # the admin created itself
        )
        reporting_to: dict[str, Any] | None = None
        if 0 < i <= _MANAGERS:
            reporting_to = dict(admin_ref)
        elif i > _MANAGERS:
            manager = users[1 + i % _MANAGERS]
            reporting_to = {"name": manager["full_name"], "id": manager["id"]}
        users.append(
            {
                "id": user_id,
                "first_name": first,
                "last_name": last,
                "full_name": full_name,
                "email": f"{first.lower()}.{last.lower()}@{USER_DOMAIN}",
                "status": "active",
                "role": {"name": role, "id": ROLE_IDS[role]},
                "profile": {"name": profile, "id": PROFILE_IDS[profile]},
                "zuid": str(zuid_base + i * 97 + rng.randrange(97)),
                "time_zone": "Etc/UTC",
                "locale": "en_US",
                "country_locale": "en_US",
                "language": "en_US",
                "confirm": True,
                "alias": None,
                "phone": f"{phone_prefix}{rng.randrange(100, 200):04d}",
                "mobile": None,
                "city": city,
                "country": country,
                "date_format": "MM/dd/yyyy",
                "time_format": "hh:mm a",
                "decimal_separator": "Period",
                "microsoft": False,
                "sandboxDeveloper": False,
                "Isonline": False,
                "type__s": "Regular User",
                "status_reason__s": None,
                "Reporting_To": reporting_to,
                "created_by": dict(admin_ref),
                "Modified_By": dict(admin_ref),
                "created_time": iso(created),
                "modified_time": iso(modified),
                "Modified_Time": iso(modified),
            }
        )
    return users


def build_org(seed: int) -> dict[str, Any]:
    """The org as GET /crm/v8/org returns it (the item inside `{"org": [...]}`)."""
    rng = random.Random(seed)
    admin = build_users(seed, 1)[0]
    zgid = 800_000_000 + rng.getrandbits(26)
    return {
        "id": ORG_ID,
        "zgid": str(zgid),
        "ezgid": f"{zgid:x}",
        "zia_zgid": zgid,
        "domain_name": f"sergassandbox{zgid % 10_000:04d}",
        "alias": "sergas-sandbox",
        "company_name": "Sergas Sandbox Org",
        "description": "Offline Zoho CRM sandbox organisation",
        "primary_email": admin["email"],
        "primary_zuid": admin["zuid"],
        "phone": "+1 512-555-0100",
        "mobile": None,
        "fax": None,
        "website": f"https://www.{USER_DOMAIN}",
        "employee_count": "20",
        "street": "100 Congress Ave",
        "city": "Austin",
        "state": "TX",
        "zip": "78701",
        "country": "United States",
        "country_code": "US",
        "time_zone": "Etc/UTC",
        "currency": "US Dollar",
        "currency_symbol": "$",
        "currency_locale": "en_US",
        "iso_code": "USD",
        "type": "production",
        "max_per_page": 200,
        "created_time": admin["created_time"],
        "photo_id": None,
        "zia_portal_id": None,
        "mc_status": False,
        "gapps_enabled": False,
        "translation_enabled": False,
        "privacy_settings": False,
        "hipaa_compliance_enabled": False,
        "lite_users_enabled": False,
        "deletable_org_account": False,
        "oauth_presence": True,
        "call_icon": "show",
        "hierarchy_preferences": {"type": "Role_Hierarchy", "strictly_reporting": False},
        "checkin_preferences": {"restricted_event_types": None},
        "license_details": {
            "paid": True,
            "paid_type": "enterprise",
            "users_license_purchased": 20,
            "portal_users_license_purchased": 0,
            "trial_type": None,
            "trial_action": "Update Evaluation",
            "paid_expiry": None,
            "trial_expiry": None,
        },
    }


def build_former_users(seed: int, count: int = 20) -> list[dict[str, Any]]:
    """Two users beyond the org's `count` licensed ones, who own nothing: one deactivated
    (Zoho's status "disabled") and one invited who has not confirmed yet. They follow the
    first `count` (same draws), so those are unchanged."""
    deactivated, invited = build_users(seed, count + 2)[count:]
    deactivated["status"] = "disabled"
    invited["confirm"] = False
    return [deactivated, invited]
