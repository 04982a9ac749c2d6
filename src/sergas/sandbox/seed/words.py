"""The seed's vocabulary: names, companies, cities, picklist weights, datetime pieces.

Word lists are fictional or generic; phone numbers are 555-style. Picklists are
`(values, weights)`, with None for "-None-" (the field left empty).
"""

from __future__ import annotations

import random
from itertools import accumulate

from sergas.sandbox.schema import INDUSTRIES

FIRST_NAMES = (
    "Aarav", "Abigail", "Adrian", "Aisha", "Alejandro", "Amelia", "Ana", "Andrew", "Anika",
    "Benjamin", "Bianca", "Carlos", "Charlotte", "Chen", "Chloe", "Daniel", "David", "Diego",
    "Elena", "Emily", "Emma", "Ethan", "Fatima", "Felix", "Gabriel", "Grace", "Hannah", "Hiro",
    "Isabella", "Ivan", "Jack", "James", "Julia", "Kenji", "Laura", "Leo", "Liam", "Lucas",
    "Maya", "Mei", "Mia", "Michael", "Nadia", "Noah", "Olivia", "Omar", "Oscar", "Priya",
    "Rahul", "Rosa", "Samuel", "Sara", "Sofia", "Thomas", "Valentina", "Victor", "William",
    "Yuki", "Zara", "Zoe",
)
LAST_NAMES = (
    "Adams", "Ahmed", "Alvarez", "Anderson", "Bailey", "Baker", "Bauer", "Bennett", "Brooks",
    "Brown", "Campbell", "Carter", "Chen", "Clark", "Collins", "Cooper", "Costa", "Davis",
    "Dubois", "Edwards", "Evans", "Fischer", "Fernandez", "Garcia", "Gomez", "Gupta", "Hall",
    "Harris", "Hughes", "Ito", "Jackson", "Johnson", "Kim", "King", "Kowalski", "Kumar",
    "Lee", "Lewis", "Lopez", "Martin", "Meyer", "Miller", "Moore", "Morgan", "Murphy",
    "Nakamura", "Nguyen", "Novak", "Patel", "Perez", "Peterson", "Reed", "Reyes", "Richter",
    "Roberts", "Rossi", "Russo", "Sanchez", "Santos", "Schmidt", "Scott", "Shah", "Silva",
    "Singh", "Smith", "Sullivan", "Tanaka", "Taylor", "Thompson", "Turner", "Wagner",
    "Walker", "Wang", "Ward", "Watson", "White", "Williams", "Wilson", "Wright", "Young",
)
BRANDS = (
    "Zylker", "Northwind", "Contoso", "Fabrikam", "Initech", "Globex", "Vandelay", "Acme",
    "Aperture", "Tailspin", "Wingtip", "Litware", "Proseware", "Adventure", "Alpine",
    "Apex", "Arbor", "Aurora", "Beacon", "Bluewave", "Boulder", "Brightpath", "Cascade",
    "Cedar", "Clearwater", "Cobalt", "Compass", "Copper", "Crescent", "Crystal", "Delta",
    "Ember", "Evergreen", "Falcon", "Foxglove", "Frontier", "Galaxy", "Granite", "Harbor",
    "Hawthorn", "Helix", "Horizon", "Indigo", "Ironbridge", "Juniper", "Keystone", "Kestrel",
    "Lakeside", "Lighthouse", "Lumen", "Magnolia", "Maple", "Meridian", "Monarch", "Nimbus",
    "Northstar", "Oakridge", "Obsidian", "Orchid", "Pacific", "Paragon", "Pinnacle",
    "Polaris", "Prairie", "Quantum", "Quarry", "Radiant", "Redwood", "Ridgeline", "Riverbend",
    "Sapphire", "Sequoia", "Silverline", "Skyline", "Solstice", "Sterling", "Summit",
    "Tidewater", "Timber", "Trident", "Unity", "Vanguard", "Vertex", "Willow", "Zenith",
)
SECTORS = (
    "Aerospace", "Analytics", "Biotech", "Capital", "Cloud", "Consulting", "Data",
    "Digital", "Energy", "Foods", "Health", "Logistics", "Marine", "Media", "Medical",
    "Motors", "Networks", "Pharma", "Retail", "Robotics", "Security", "Software", "Telecom",
    "Textiles", "Trading", "Travel",
)
SUFFIXES = (
    "Inc", "Ltd", "Group", "Labs", "Systems", "LLC", "Corp", "GmbH", "Partners", "Holdings",
    "Technologies", "Solutions", "Industries", "Co", "AG", "PLC",
)
# (city, country, phone prefix, weight): fictional 555-style numbers.
CITIES: tuple[tuple[str, str, str, int], ...] = (
    ("New York", "United States", "+1 212-555-", 9),
    ("San Francisco", "United States", "+1 415-555-", 7),
    ("Austin", "United States", "+1 512-555-", 6),
    ("Chicago", "United States", "+1 312-555-", 6),
    ("Seattle", "United States", "+1 206-555-", 5),
    ("Boston", "United States", "+1 617-555-", 5),
    ("Denver", "United States", "+1 303-555-", 4),
    ("Atlanta", "United States", "+1 404-555-", 4),
    ("Dallas", "United States", "+1 214-555-", 4),
    ("Toronto", "Canada", "+1 416-555-", 4),
    ("Vancouver", "Canada", "+1 604-555-", 2),
    ("London", "United Kingdom", "+44 20 7946 ", 6),
    ("Manchester", "United Kingdom", "+44 161 496 ", 2),
    ("Berlin", "Germany", "+49 30 5550 ", 3),
    ("Munich", "Germany", "+49 89 5550 ", 3),
    ("Paris", "France", "+33 1 5550 ", 3),
    ("Amsterdam", "Netherlands", "+31 20 555 ", 2),
    ("Madrid", "Spain", "+34 91 555 ", 2),
    ("Milan", "Italy", "+39 02 5550 ", 2),
    ("Stockholm", "Sweden", "+46 8 555 ", 1),
    ("Dublin", "Ireland", "+353 1 555 ", 2),
    ("Zurich", "Switzerland", "+41 44 555 ", 1),
    ("Sydney", "Australia", "+61 2 5550 ", 3),
    ("Melbourne", "Australia", "+61 3 5550 ", 2),
    ("Singapore", "Singapore", "+65 6555 ", 2),
    ("Tokyo", "Japan", "+81 3 5550 ", 2),
    ("Bengaluru", "India", "+91 80 5550 ", 3),
    ("Chennai", "India", "+91 44 5550 ", 2),
    ("Mexico City", "Mexico", "+52 55 5550 ", 1),
    ("São Paulo", "Brazil", "+55 11 5550 ", 1),
    ("Dubai", "United Arab Emirates", "+971 4 555 ", 1),
    ("Cape Town", "South Africa", "+27 21 555 ", 1),
)
TITLES = (
    "CEO", "CFO", "CTO", "COO", "VP Sales", "VP Engineering", "VP Operations",
    "Head of Procurement", "IT Director", "Operations Manager", "Purchasing Manager",
    "Account Manager", "Finance Manager", "Marketing Director", "Product Manager",
    "Software Engineer", "Office Manager", "Project Manager", None,
)
DEAL_PRODUCTS = (
    "Annual Subscription", "Enterprise License", "Renewal", "Expansion", "Pilot",
    "Support Contract", "Onboarding Services", "Platform Upgrade", "Data Migration",
    "Training Package", "Multi-year Renewal", "Add-on Seats", "Professional Services",
    "Premium Support", "Integration Project",
)
TASK_SUBJECTS = (
    "Follow-up call", "Send proposal", "Quarterly business review", "Renewal discussion",
    "Schedule product demo", "Check in on onboarding", "Collect product feedback",
    "Prepare contract", "Update billing details", "Executive sponsor meeting",
    "Send case study", "Resolve support escalation", "Confirm purchase order",
    "Review usage report", "Plan training session", "Introduce new account manager",
)
DESCRIPTIONS = (
    "Key account; coordinate with the regional team before any outreach.",
    "Imported from the 2023 trade show lead list.",
    "Prefers email contact; quarterly reviews with the executive sponsor.",
    "Multi-site customer, billing handled by the head office.",
    "Referred by an existing partner.",
)

# Picklists as (values, weights); None is "-None-", the field left empty.
ACCOUNT_TYPES = (
    ("Customer", "Prospect", "Partner", "Reseller", "Distributor", "Integrator", "Supplier",
     "Investor", "Analyst", "Competitor", "Press", "Other", None),
    (44, 24, 7, 5, 3, 3, 3, 1, 1, 2, 1, 2, 4),
)
RATINGS = (
    ("Active", "Acquired", "Market Failed", "Project Cancelled", "Shut Down", None),
    (68, 8, 4, 6, 3, 11),
)
OWNERSHIPS = (
    ("Private", "Public", "Subsidiary", "Partnership", "Government", "Other", None),
    (45, 17, 10, 7, 4, 7, 10),
)
ACCOUNT_INDUSTRIES = (
    (*INDUSTRIES, None),
    (*(6 if "Enterprise" in i or "Service" in i else 4 for i in INDUSTRIES), 5),
)
SITES = (("Headquarters", "Branch", "Regional Office", None), (22, 8, 5, 65))
CONTACTS_PER_ACCOUNT = (range(7), (8, 14, 20, 20, 16, 12, 10))
DEALS_PER_ACCOUNT = (range(6), (18, 26, 22, 16, 11, 7))
TASKS_PER_ACCOUNT = (range(7), (12, 16, 20, 18, 14, 11, 9))
# Per DEAL_STAGES: the six open stages, then Closed Won and Closed Lost.
STAGE_WEIGHTS = (16, 13, 11, 8, 7, 5, 28, 17)
PRIORITIES = (("Normal", "High", "Low", "Highest", "Lowest"), (45, 25, 15, 8, 7))
OPEN_TASK_STATUSES = (("Not Started", "In Progress", "Waiting for input", "Deferred"),
                       (48, 30, 13, 9))

CITY_WEIGHTS = tuple(c[3] for c in CITIES)
# Time-of-day pieces of clock.iso's format, for formatting many datetimes quickly.
HHMM = tuple(f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60))
SS_UTC = tuple(f"{s:02d}+00:00" for s in range(60))
DIGITS4 = tuple(f"{k:04d}" for k in range(10_000))  # phone line numbers


def cumulative(weights: tuple[int, ...] | list[float]) -> list[float]:
    return list(accumulate(float(w) for w in weights))


class CompanyNamer:
    """Unique company names, each with a web domain of its own."""

    def __init__(self, rng: random.Random) -> None:
        self._random = rng.random
        self._names: set[str] = set()
        self._domains: set[str] = set()

    def __call__(self, city: str) -> tuple[str, str]:
        """(account name, domain). A taken name gets the city, then a number, appended."""
        rand = self._random
        brand = BRANDS[int(rand() * len(BRANDS))]
        suffix = SUFFIXES[int(rand() * len(SUFFIXES))]
        if rand() < 0.6:
            sector = SECTORS[int(rand() * len(SECTORS))]
            stem = f"{brand} {sector}"
            slug = f"{brand}{sector}".lower()
        else:
            stem = brand
            slug = brand.lower()
        name = f"{stem} {suffix}"
        if name in self._names:
            name = f"{stem} {suffix} ({city})"
            n = 2
            while name in self._names:
                name = f"{stem} {suffix} ({city} {n})"
                n += 1
        self._names.add(name)
        domain = slug
        if domain in self._domains:
            domain = slug + suffix.lower()
            n = 2
            while domain in self._domains:
                domain = f"{slug}{suffix.lower()}{n}"
                n += 1
        self._domains.add(domain)
        return name, f"{domain}.example"

# Calls, meetings and notes.
CALL_SUBJECTS = (
    "Check-in call", "Renewal call", "Support follow-up", "Pricing discussion",
    "Onboarding call", "Quarterly review call", "Escalation call", "Discovery call",
    "Usage review", "Contract questions", "Introductory call", "Feedback call",
)
MEETING_TITLES = (
    "Quarterly business review", "Product demo", "Executive sponsor meeting",
    "Renewal negotiation", "Onboarding workshop", "Roadmap briefing", "Training session",
    "Contract review", "Site visit", "Planning meeting",
)
VENUES = ("Video call", "Customer office", "Our office", "Phone bridge", None)
NOTE_TITLES = (
    "Call summary", "Meeting notes", "Next steps", "Risk", "Budget", "Stakeholders",
    "Competitor mentioned", "Renewal", None,
)
NOTE_TEXTS = (
    "Customer asked for an updated quote before the end of the quarter.",
    "Champion is moving to a new role; need a new executive sponsor.",
    "Usage dropped after the last release; follow up with their admin.",
    "Happy with support response times; open to a case study.",
    "Procurement wants a three-year term with a price cap.",
    "Evaluating a competitor; send the comparison sheet.",
    "Integration project is behind schedule on their side.",
    "Asked about adding seats for the new regional team.",
    "Billing contact changed; update the invoice address.",
    "Renewal likely; decision expected after their board meeting.",
)
LEAD_SOURCES_WEIGHTED = (
    ("Web Download", "Cold Call", "Trade Show", "Employee Referral", "Partner", "Advertisement",
     "Web Research", "Chat", None),
    (18, 14, 12, 8, 10, 9, 11, 8, 10),
)
LEAD_STATUSES_WEIGHTED = (
    ("Not Contacted", "Attempted to Contact", "Contacted", "Contact in Future", "Pre-Qualified",
     "Not Qualified", "Junk Lead", "Lost Lead"),
    (24, 18, 20, 10, 12, 7, 4, 5),
)
CALL_TYPES_WEIGHTED = (("Outbound", "Inbound", "Missed"), (60, 30, 10))
NOTES_PER_ACCOUNT = (range(4), (60, 27, 10, 3))
NOTES_PER_DEAL = (range(3), (86, 11, 3))
CALLS_PER_ACCOUNT = (range(5), (50, 26, 14, 7, 3))
MEETINGS_PER_ACCOUNT = (range(3), (68, 25, 7))
