"""The seeded sample world: one coherent process from first contact to a genealogy with orders.

The process, month by month over ``months`` months:

1. **Founders.** ``n_contacts // 400`` business builders (at least 3) join in the quarter before
   the start; 40% of them are leaders already. They are the roots of the genealogy.
2. **Contacts.** Month ``m`` brings a fixed number of new contacts, growing 6% a month and summing
   to ``n_contacts``. Each is approached by an active rep chosen in proportion to their lasting
   prospecting effort (:mod:`toolkit.recruiting`, shared with the growth simulator): gamma with
   shape 0.8, so most reps approach few people and a few approach many; leaders four times more.
3. **Source, type and price.** Each contact comes from a source with a lead type and a price list
   (``SOURCES``): the warm market is free, broker leads cost cents, seminar leads cost dollars.
4. **Funnel.** contact -> lead -> prospect, then customer and rep as two independent outcomes of a
   prospect (``STEP_PROBABILITIES``), each step after a gamma-distributed delay. Within a paid
   source, dearer packages convert a little better (odds x (price / median price) ** 0.25 at
   the first two steps).
5. **Members.** A new customer or rep joins the organisation sponsored by the rep who worked the
   lead, and starts prospecting from the next month: the genealogy grows out of the funnel.
   Reps are retailers (30%) or business builders; 39% of builders become leaders after a few
   months. Customers are preferred (45%, on autoship) or retail; 20% of preferred customers
   grow into business builders after about half a year (a ``rep`` event and a role change).
6. **Enrolled in person.** A new rep's family and friends buy in their first month
   (``FIRST_CUSTOMERS`` on average), and every month each active rep enrols customers they know,
   without a tracked lead (empty ``lead_id``), in proportion to their effort (leaders
   ``REFERRAL_LEADER_MULTIPLIER`` times more), and each leader enrols reps, of whose builders
   ``REFERRAL_LEADER_SHARE`` become leaders and enrol in turn (``_referrals``). Both rates fall as the organisation fills its market
   (``REFERRAL_MARKET`` active members per contact): it booms in the first half of 2025 and then
   levels off, leaving a few deep leader lines, which is what lets the example compensation plans
   pay a few leaders what the seeds pitch while most participants earn little.
7. **Leaving.** Each role has a monthly attrition hazard at joining (``MONTHLY_ATTRITION``):
   retail customers leave fastest, leaders slowest; members differ around it (a gamma frailty,
   ``ATTRITION_FRAILTY``), so a cohort's attrition falls as it ages. A role change only happens if
   the member is still there, and it switches them to the new role's hazard.
8. **Orders.** Autoship members order monthly while active (builders 100 of volume, the example
   plans' qualification); everyone also orders at a Poisson rate by role (retail customers about
   monthly); amounts are log-normal around a role's typical basket, volume is 80% of amount.

Anything that would happen after the export date is not in the data: the latest leads are too
young to have converted, which is what censoring-aware analyses must respect. ``as_of`` is the
latest timestamp in the data (so :func:`toolkit.read_crm` recovers it from the CSV files).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toolkit.recruiting import assign_contacts, effort_weights, prospecting_effort
from toolkit.schema import CRMData

START = pd.Timestamp("2024-10-01")
DAYS_PER_MONTH = 365.25 / 12
MONTHLY_GROWTH = 1.15
FIRST_MONTH_CONTACTS_PER_FOUNDER = 6
RECRUIT_DISPERSION = 0.8
LEADER_MULTIPLIER = 4.0
# members enrolled in person, without a tracked lead (see _referrals): customers per month per
# unit of effort of every rep (leaders REFERRAL_LEADER_MULTIPLIER times more) and reps per month
# per unit of effort of every leader, while the organisation has room; the market is
# REFERRAL_MARKET active members per contact; REFERRAL_LEADER_SHARE of enrolled builders become
# leaders. Tuned so that the example plans give sample_data/README.md's "Money" figures.
REFERRAL_CUSTOMERS = 3.0
REFERRAL_REPS = 8.0
REFERRAL_MARKET = 0.25
REFERRAL_LEADER_MULTIPLIER = 12.0
REFERRAL_LEADER_SHARE = 0.3
# customers a new rep enrols in their first month (family and friends), whatever the room
FIRST_CUSTOMERS = 0.8

# source: (lead type, share of contacts, price list per lead)
SOURCES = {
    "warm_market": ("unqualified", 0.30, (0.0,)),
    "street_flyer": ("unqualified", 0.15, (0.10, 0.15, 0.20)),
    "lead_broker": ("generic", 0.25, (0.02, 0.03, 0.05, 0.08, 0.10)),
    "online_ad": ("generic", 0.10, (0.75, 1.00, 1.50, 2.00)),
    "seminar": ("qualified", 0.08, (8.0, 10.0, 12.0, 15.0, 20.0)),
    "optin_site": ("qualified", 0.12, (4.0, 5.0, 6.0, 8.0)),
}
# source: P(contact -> lead), P(lead -> prospect), P(prospect -> customer), P(prospect -> rep)
STEP_PROBABILITIES = {
    "warm_market": (0.55, 0.38, 0.37, 0.17),
    "street_flyer": (0.40, 0.32, 0.34, 0.14),
    "lead_broker": (0.28, 0.29, 0.33, 0.11),
    "online_ad": (0.36, 0.33, 0.35, 0.13),
    "seminar": (0.80, 0.58, 0.40, 0.28),
    "optin_site": (0.70, 0.52, 0.36, 0.23),
}
PRICE_ELASTICITY = 0.25
# delays in days: (gamma shape, mean)
DELAYS = {
    "lead": (1.5, 4.0),
    "prospect": (1.5, 10.0),
    "customer": (1.2, 15.0),
    "rep": (1.2, 21.0),
    "leader": (2.0, 90.0),
    "preferred_to_builder": (2.0, 200.0),
}
RETAILER_SHARE = 0.30
LEADER_SHARE_OF_BUILDERS = 0.5
PREFERRED_SHARE = 0.45
PREFERRED_TO_BUILDER = 0.20
FOUNDER_LEADER_SHARE = 0.40
MONTHLY_ATTRITION = {
    "retail_customer": 0.09,
    "preferred_customer": 0.035,
    "retailer": 0.045,
    "business_builder": 0.05,
    "leader": 0.015,
}
# gamma shape of members' propensity to quit around their role's hazard (see _leave_after)
ATTRITION_FRAILTY = 2.0
# role: (autoship share, autoship basket, extra orders per month, extra basket)
ORDERING = {
    "retail_customer": (0.0, 0.0, 1.0, 100.0),
    "preferred_customer": (1.0, 90.0, 0.1, 40.0),
    "retailer": (0.3, 120.0, 1.2, 180.0),
    "business_builder": (1.0, 125.0, 0.2, 60.0),
    "leader": (1.0, 200.0, 0.2, 80.0),
}
VOLUME_SHARE = 0.8
ROLE_CODES = tuple(MONTHLY_ATTRITION)


def _gamma_days(rng, kind, n):
    shape, mean = DELAYS[kind]
    return rng.gamma(shape, mean / shape, size=n)


def _leave_after(rng, role_codes, n):
    """Days until leaving: each role's monthly hazard at joining, falling with time in the role.

    Members differ in how likely they are to quit (a gamma frailty of shape
    ``ATTRITION_FRAILTY`` around the role's hazard), so the likeliest to quit go first and a
    cohort's attrition falls as it ages: a Lomax time, made from the same exponential draw as a
    constant hazard would use.
    """
    hazard = np.array([MONTHLY_ATTRITION[r] for r in ROLE_CODES])[role_codes]
    rate = -np.log1p(-hazard) / DAYS_PER_MONTH
    exposure = rng.exponential(1 / rate, size=n) * rate  # a standard exponential
    return ATTRITION_FRAILTY / rate * np.expm1(exposure / ATTRITION_FRAILTY)


def _month_sizes(n_contacts, months):
    weights = MONTHLY_GROWTH ** np.arange(months)
    sizes = np.floor(n_contacts * weights / weights.sum()).astype(int)
    sizes[-1] += n_contacts - sizes.sum()
    return sizes


def _people(rng, n_founders, sizes):
    """Every person's story in days since START (inf = never), founders first, then contacts."""
    code = {r: i for i, r in enumerate(ROLE_CODES)}
    n = n_founders + sizes.sum()
    source_names = list(SOURCES)
    shares = np.array([SOURCES[s][1] for s in source_names])
    steps = np.array([STEP_PROBABILITIES[s] for s in source_names])

    f = np.arange(n_founders)
    people = {
        "created": np.full(n, np.nan),
        "source": np.full(n, -1),
        "price": np.zeros(n),
        "owner": np.full(n, -1),
        **{
            k: np.full(n, np.inf)
            for k in ("lead", "prospect", "customer", "rep", "leader", "change")
        },
        "role1": np.full(n, -1),
        "role2": np.full(n, -1),
        "join": np.full(n, np.inf),
        "left": np.full(n, np.inf),
        "effort": np.zeros(n),
    }
    people["join"][f] = -rng.uniform(0, 90, n_founders)
    founder_leader = rng.random(n_founders) < FOUNDER_LEADER_SHARE
    people["role1"][f] = np.where(founder_leader, code["leader"], code["business_builder"])
    people["rep"][f] = people["join"][f]
    people["leader"][f] = np.where(founder_leader, people["join"][f], np.inf)
    people["left"][f] = people["join"][f] + _leave_after(rng, people["role1"][f], n_founders)
    people["effort"][f] = prospecting_effort(rng, n_founders, dispersion=RECRUIT_DISPERSION)

    first = n_founders
    for month, size in enumerate(sizes):
        t0 = month * DAYS_PER_MONTH
        # reps prospecting this month: joined as reps before it began and not gone yet
        start = np.minimum(people["rep"][:first], people["change"][:first])
        active = np.flatnonzero((start < t0) & (people["left"][:first] > t0))
        weights = effort_weights(
            people["effort"][active], people["leader"][active] < t0, LEADER_MULTIPLIER
        )
        idx = np.arange(first, first + size)
        first += size
        people["owner"][idx] = active[assign_contacts(rng, weights, size)]
        people["created"][idx] = np.sort(t0 + rng.uniform(0, DAYS_PER_MONTH, size))
        _funnel(rng, people, idx, shares, steps, code)
    return people


def _funnel(rng, people, idx, shares, steps, code):
    n = len(idx)
    src = rng.choice(len(shares), size=n, p=shares)
    price_lists = [SOURCES[s][2] for s in SOURCES]
    counts = np.array([len(prices) for prices in price_lists])
    table = np.array([prices + (0.0,) * (counts.max() - len(prices)) for prices in price_lists])
    price = table[src, (rng.random(n) * counts[src]).astype(int)]
    median = np.array([np.median(prices) for prices in price_lists])[src]
    odds_factor = np.where(
        median > 0, (price / np.where(median > 0, median, 1)) ** PRICE_ELASTICITY, 1.0
    )
    p = steps[src].copy()
    for j in (0, 1):  # dearer packages convert a little better at the first two steps
        odds = p[:, j] / (1 - p[:, j]) * odds_factor
        p[:, j] = odds / (1 + odds)
    u = rng.random((n, 4))
    is_lead = u[:, 0] < p[:, 0]
    is_prospect = is_lead & (u[:, 1] < p[:, 1])
    is_customer = is_prospect & (u[:, 2] < p[:, 2])
    is_rep = is_prospect & (u[:, 3] < p[:, 3])

    created = people["created"][idx]
    t_lead = np.where(is_lead, created + _gamma_days(rng, "lead", n), np.inf)
    t_prospect = np.where(is_prospect, t_lead + _gamma_days(rng, "prospect", n), np.inf)
    t_customer = np.where(is_customer, t_prospect + _gamma_days(rng, "customer", n), np.inf)
    t_rep = np.where(is_rep, t_prospect + _gamma_days(rng, "rep", n), np.inf)
    join = np.minimum(t_customer, t_rep)

    story = _roles(rng, is_rep, is_customer, t_rep, join, code)
    for key, value in (
        ("source", src),
        ("price", price),
        ("lead", t_lead),
        ("prospect", t_prospect),
        ("customer", t_customer),
        ("rep", t_rep),
        ("join", join),
        *story.items(),
    ):
        people[key][idx] = value


def _roles(rng, is_rep, is_customer, t_rep, join, code, leader_share=LEADER_SHARE_OF_BUILDERS):
    """Roles, the one role change, leaving and prospecting effort of people who join at ``join``."""
    n = len(join)
    roles = rng.random((n, 3))
    builder = roles[:, 0] >= RETAILER_SHARE
    preferred = roles[:, 1] < PREFERRED_SHARE
    role1 = np.where(
        is_rep,
        np.where(builder, code["business_builder"], code["retailer"]),
        np.where(preferred, code["preferred_customer"], code["retail_customer"]),
    )
    role1 = np.where(np.isfinite(join), role1, -1)
    # the one role change each story allows: builder -> leader, or preferred -> builder
    to_leader = is_rep & builder & (roles[:, 2] < leader_share)
    to_builder = ~is_rep & is_customer & preferred & (roles[:, 2] < PREFERRED_TO_BUILDER)
    t_change = np.where(to_leader, t_rep + _gamma_days(rng, "leader", n), np.inf)
    t_change = np.where(to_builder, join + _gamma_days(rng, "preferred_to_builder", n), t_change)
    role2 = np.where(to_leader, code["leader"], np.where(to_builder, code["business_builder"], -1))

    left = join + _leave_after(rng, np.maximum(role1, 0), n)
    changes = t_change < left  # a member who has left changes nothing
    left = np.where(changes, t_change + _leave_after(rng, np.maximum(role2, 0), n), left)
    is_new_rep = is_rep | (changes & to_builder)
    return {
        "role1": role1,
        "left": left,
        "change": np.where(changes & to_builder, t_change, np.inf),
        "leader": np.where(changes & to_leader, t_change, np.inf),
        "role2": np.where(changes, role2, -1),
        "effort": np.where(
            is_new_rep, prospecting_effort(rng, n, dispersion=RECRUIT_DISPERSION), 0.0
        ),
    }


def _referrals(rng, people, months, market):
    """Members enrolled in person, without a tracked lead, appended to ``people``.

    Month by month every rep who started in the last month enrols ``FIRST_CUSTOMERS`` customers
    on average (family and friends), and every active rep a Poisson number of customers, at a rate
    proportional to their prospecting effort (leaders ``REFERRAL_LEADER_MULTIPLIER`` times
    more), and every leader also enrols reps, some of whom become leaders and enrol in turn: the most active
    lines grow deep. These two rates fall as the organisation fills its market (``market``
    active members): word of mouth runs out of people to tell.
    """
    code = {r: i for i, r in enumerate(ROLE_CODES)}
    keys = ("rep", "change", "left", "leader", "effort")
    # only reps enrol: keep them (in person order) apart from the rest, growing month by month
    is_rep = np.isfinite(np.minimum(people["rep"], people["change"]))
    reps = {k: people[k][is_rep] for k in keys} | {"id": np.flatnonzero(is_rep)}
    stays = [(people["join"], people["left"])]
    chunks, first = [], len(people["join"])
    for month in range(months):
        t0 = month * DAYS_PER_MONTH
        active_members = sum(np.count_nonzero((j < t0) & (gone > t0)) for j, gone in stays)
        room = max(0.0, 1.0 - active_members / market)
        on = (np.minimum(reps["rep"], reps["change"]) < t0) & (reps["left"] > t0)
        active, effort = reps["id"][on], reps["effort"][on]
        leader = reps["leader"][on] < t0
        weights = effort_weights(effort, leader, REFERRAL_LEADER_MULTIPLIER)
        # a new rep's family and friends buy whether or not the market has room
        start = np.minimum(reps["rep"], reps["change"])[on]
        customers = rng.poisson(REFERRAL_CUSTOMERS * room * weights) + rng.poisson(
            FIRST_CUSTOMERS * (start >= t0 - DAYS_PER_MONTH)
        )
        new_reps = rng.poisson(REFERRAL_REPS * room * effort * leader)
        sponsor = np.concatenate([np.repeat(active, customers), np.repeat(active, new_reps)])
        n = len(sponsor)
        rep = np.arange(n) >= customers.sum()
        join = t0 + rng.uniform(0, DAYS_PER_MONTH, n)
        t_rep = np.where(rep, join, np.inf)
        chunk = {"owner": sponsor, "join": join, "rep": t_rep}
        chunk.update(_roles(rng, rep, ~rep, t_rep, join, code, REFERRAL_LEADER_SHARE))
        chunks.append(chunk)
        stays.append((join, chunk["left"]))
        rep = np.isfinite(np.minimum(chunk["rep"], chunk["change"]))
        for k in keys:
            reps[k] = np.concatenate([reps[k], chunk[k][rep]])
        reps["id"] = np.concatenate([reps["id"], first + np.flatnonzero(rep)])
        first += n
    extra = {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
    n = len(extra["join"])
    for key, value in people.items():
        if key not in extra:  # not a contact: no lead, no funnel stages
            fill = {"created": np.nan, "source": -1, "price": 0.0}.get(key, np.inf)
            extra[key] = np.full(n, fill, dtype=value.dtype)
        people[key] = np.concatenate([value, extra[key].astype(value.dtype)])
    return people


def _stamp(days):
    """Days since START (NaN for never) as second-resolution timestamps."""
    seconds = np.round(np.asarray(days, dtype=float) * 86_400)
    return pd.Series(START + pd.to_timedelta(seconds, unit="s")).astype("datetime64[us]")


def _ids(prefix, numbers, width):
    """``prefix`` and the zero-padded ``numbers`` as an Arrow string array (fast at millions)."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _pick(ids, index):
    """``ids[index]`` as a text column, empty where ``index`` is -1."""
    index = np.asarray(index)
    return pd.Series(pd.array(ids.take(pa.array(index, mask=index < 0)), dtype="str"))


def _orders(rng, spells, end):
    """Orders over each role spell (member, role, from, to): autoship monthly plus extras."""
    role = spells["role"].to_numpy()
    autoship_share, basket, extra_rate, extra_basket = (
        np.array([ORDERING[r][i] for r in ROLE_CODES])[role] for i in range(4)
    )
    begin = spells["from"].to_numpy()
    length = np.minimum(spells["to"].to_numpy(), end) - begin
    on_autoship = rng.random(len(spells)) < autoship_share
    n_auto = np.where(on_autoship, np.floor(length / DAYS_PER_MONTH).astype(int) + 1, 0)
    n_extra = rng.poisson(extra_rate * length / DAYS_PER_MONTH)
    # a retail customer joins by buying: their first spell starts with an order
    first_buy = (role == ROLE_CODES.index("retail_customer")) & spells["first"].to_numpy()
    n_extra = n_extra + first_buy

    spell_auto = np.repeat(np.arange(len(spells)), n_auto)
    k = np.arange(n_auto.sum()) - np.repeat(np.cumsum(n_auto) - n_auto, n_auto)
    t_auto = begin[spell_auto] + k * DAYS_PER_MONTH
    spell_extra = np.repeat(np.arange(len(spells)), n_extra)
    u = rng.random(len(spell_extra))
    is_first = first_buy[spell_extra] & (
        np.arange(len(spell_extra)) == np.repeat(np.cumsum(n_extra) - n_extra, n_extra)
    )
    t_extra = begin[spell_extra] + np.where(is_first, 0.0, u * length[spell_extra])

    spell = np.concatenate([spell_auto, spell_extra])
    mean = np.concatenate([basket[spell_auto], extra_basket[spell_extra]])
    amount = np.round(mean * rng.lognormal(-0.08, 0.4, size=len(spell)), 2)
    orders = pd.DataFrame(
        {
            "member": spells["member"].to_numpy()[spell],
            "t": np.concatenate([t_auto, t_extra]),
            "amount": amount,
            "volume": np.round(amount * VOLUME_SHARE, 2),
            "autoship": np.concatenate(
                [np.ones(len(spell_auto), bool), np.zeros(len(spell_extra), bool)]
            ),
        }
    )
    return orders[orders["t"] <= end].sort_values(["t", "member"], kind="stable")


def generate(n_contacts: int = 20_000, *, months: int = 24, seed: int = 2024) -> CRMData:
    if n_contacts < 100 or months < 2:
        raise ValueError("the sample world needs at least 100 contacts and 2 months")
    rng = np.random.default_rng(seed)
    sizes = _month_sizes(n_contacts, months)
    n_founders = max(3, round(sizes[0] / FIRST_MONTH_CONTACTS_PER_FOUNDER))
    p = _people(rng, n_founders, sizes)
    end = months * DAYS_PER_MONTH
    p = _referrals(rng, p, months, REFERRAL_MARKET * n_contacts)
    person = np.arange(len(p["join"]))
    contacts = person[n_founders : n_founders + n_contacts]

    members = person[p["join"] <= end]
    members = members[np.argsort(p["join"][members], kind="stable")]
    width = max(6, len(str(len(person))))
    # each person's position among the members and among the leads (-1: none)
    member_no = np.full(len(person), -1)
    member_no[members] = np.arange(len(members))
    member_ids = _ids("M", np.arange(1, len(members) + 1), width)
    lead_no = np.full(len(person), -1)
    lead_no[contacts] = np.arange(n_contacts)
    lead_ids = _ids("L", np.arange(1, n_contacts + 1), width)

    source_names = np.array(list(SOURCES))
    leads = pd.DataFrame(
        {
            "lead_id": _pick(lead_ids, lead_no[contacts]),
            "created_at": _stamp(p["created"][contacts]),
            "source": pd.Series(source_names[p["source"][contacts]], dtype="str"),
            "lead_type": pd.Series(
                [SOURCES[s][0] for s in source_names[p["source"][contacts]]], dtype="str"
            ),
            "cost": p["price"][contacts],
            "owner_id": _pick(member_ids, member_no[p["owner"][contacts]]),
        }
    )

    stage_times = {
        "contact": p["created"],
        "lead": p["lead"],
        "prospect": p["prospect"],
        "customer": p["customer"],
        "rep": np.minimum(p["rep"], p["change"]),
        "leader": p["leader"],
    }
    events = []
    for stage, times in stage_times.items():
        who = contacts[times[contacts] <= end]
        events.append(pd.DataFrame({"person": who, "stage": stage, "t": times[who]}))
    events = pd.concat(events).sort_values(["t", "person"], kind="stable")
    events = pd.DataFrame(
        {
            "lead_id": _pick(lead_ids, lead_no[events["person"]]),
            "stage": pd.Series(events["stage"].to_numpy(), dtype="str"),
            "at": _stamp(events["t"]),
        }
    )

    changed = members[
        (p["role2"][members] >= 0) & (np.minimum(p["change"], p["leader"])[members] <= end)
    ]
    change_at = np.minimum(p["change"], p["leader"])
    spells = pd.DataFrame(
        {
            "member": np.concatenate([members, changed]),
            "role": np.concatenate([p["role1"][members], p["role2"][changed]]),
            "from": np.concatenate([p["join"][members], change_at[changed]]),
            "to": np.concatenate(
                [
                    np.where(np.isin(members, changed), change_at[members], p["left"][members]),
                    p["left"][changed],
                ]
            ),
            "first": np.concatenate([np.ones(len(members), bool), np.zeros(len(changed), bool)]),
        }
    ).sort_values(["from", "member"], kind="stable")
    current_role = p["role1"].copy()
    current_role[changed] = p["role2"][changed]
    role_names = np.array(ROLE_CODES)

    sponsor = p["owner"][members]
    members_table = pd.DataFrame(
        {
            "member_id": _pick(member_ids, member_no[members]),
            "sponsor_id": _pick(member_ids, np.where(sponsor >= 0, member_no[sponsor], -1)),
            "joined_at": _stamp(p["join"][members]),
            "role": pd.Series(role_names[current_role[members]], dtype="str"),
            "left_at": _stamp(np.where(p["left"][members] <= end, p["left"][members], np.nan)),
            "lead_id": _pick(lead_ids, lead_no[members]),
        }
    )
    role_history = pd.DataFrame(
        {
            "member_id": _pick(member_ids, member_no[spells["member"]]),
            "role": pd.Series(role_names[spells["role"]], dtype="str"),
            "from_at": _stamp(spells["from"]),
        }
    )

    orders = _orders(rng, spells, end)
    orders = pd.DataFrame(
        {
            "order_id": pd.Series(
                pd.array(_ids("O", np.arange(1, len(orders) + 1), width + 1), dtype="str")
            ),
            "member_id": _pick(member_ids, member_no[orders["member"]]),
            "ordered_at": _stamp(orders["t"]),
            "amount": orders["amount"].to_numpy(),
            "volume": orders["volume"].to_numpy(),
            "autoship": orders["autoship"].to_numpy(),
        }
    )
    tables = {"leads": leads, "events": events, "members": members_table, "orders": orders}
    as_of = max(
        frame[col].max()
        for frame, col in (
            (leads, "created_at"),
            (events, "at"),
            (members_table, "joined_at"),
            (members_table, "left_at"),
            (orders, "ordered_at"),
            (role_history, "from_at"),
        )
    )
    return CRMData(**tables, as_of=as_of, role_history=role_history)
