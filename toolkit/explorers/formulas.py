"""Closed forms the exported pages compute themselves (JavaScript for a ``CustomJS``).

Each is a port of the Python it stands for, not a new model: the funnel's product of rates with
the range of :func:`toolkit.rates.expected_range` (binomial, or beta-binomial when the rates
were measured on few leads), and the lead budget's linear expectation with the delta-method
range of :func:`toolkit.lead_budget`. ``tests/explorers/test_page_formulas.py`` runs them in Node and
the browser tests in the exported page, against the Python, at random settings (relative error
under 1e-9). Numbers are formatted as Python's ``format`` does (round half to even on the exact
binary value), so the page's text is the text the notebook would print.
"""

from __future__ import annotations

#: Shared helpers: Python-style number formatting, log-gamma, the count's range.
COMMON_JS = r"""
// format(x, ",.{d}f") as Python prints it: exact value, ties to even, comma groups
function pyfixed(x, d, comma = true) {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  let s = x.toFixed(d);
  const exact = Math.abs(x) < 1e21 ? Math.abs(x).toFixed(100) : "";
  const dot = exact.indexOf(".");
  if (dot >= 0) {
    const rest = exact.slice(dot + 1 + d);
    if (rest[0] === "5" && /^50*$/.test(rest)) {
      // an exact tie: toFixed rounded away from zero; Python rounds to the even digit
      const digits = (exact.slice(0, dot) + exact.slice(dot + 1, dot + 1 + d)).replace(/^0+/, "");
      const last = digits.length ? Number(digits[digits.length - 1]) : 0;
      if (last % 2 === 0) {
        const kept = exact.slice(0, dot + 1 + d);
        s = (x < 0 ? "-" : "") + (d === 0 ? kept.slice(0, -1) : kept);
      }
    }
  }
  if (!comma) return s;
  const neg = s[0] === "-";
  const body = neg ? s.slice(1) : s;
  const [whole, frac] = body.split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return (neg ? "-" : "") + grouped + (frac !== undefined ? "." + frac : "");
}
const pyint = (n) => pyfixed(n, 0);
const pypct = (p) => pyfixed(p * 100, 0, false) + "%";
// log-gamma for x > 0 (Numerical Recipes, 3rd ed., 6.1: double precision)
const LG_COF = [57.1562356658629235, -59.5979603554754912, 14.1360979747417471,
  -0.491913816097620199, 0.339946499848118887e-4, 0.465236289270485756e-4,
  -0.983744753048795646e-4, 0.158088703224912494e-3, -0.210264441724104883e-3,
  0.217439618115212643e-3, -0.164318106536763890e-3, 0.844182239838527433e-4,
  -0.261908384015814087e-4, 0.368991826595316234e-5];
function lgamma(x) {
  let y = x, tmp = x + 5.24218750000000000;
  tmp = (x + 0.5) * Math.log(tmp) - tmp;
  let ser = 0.999999999999997092;
  for (let j = 0; j < 14; j++) ser += LG_COF[j] / ++y;
  return tmp + Math.log(2.5066282746310005 * ser / x);
}
const lbeta = (a, b) => lgamma(a) + lgamma(b) - lgamma(a + b);
// toolkit.rates.expected_range: cdf over 0..n, then the first counts reaching each tail
function expected_range(n, rate, level, trials) {
  const cdf = new Array(n + 1);
  if (trials === null && (rate === 0 || rate === 1)) {
    for (let k = 0; k <= n; k++) cdf[k] = rate === 0 || k === n ? 1 : 0;
  } else {
    const lchoose = (k) => lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1);
    let logpmf;
    if (trials === null) {
      const lp = Math.log(rate), lq = Math.log1p(-rate);
      logpmf = (k) => lchoose(k) + k * lp + (n - k) * lq;
    } else {
      const x = rate * trials, a = x + 0.5, b = trials - x + 0.5, base = lbeta(a, b);
      logpmf = (k) => lchoose(k) + lbeta(k + a, n - k + b) - base;
    }
    let total = 0;
    for (let k = 0; k <= n; k++) { total += Math.exp(logpmf(k)); cdf[k] = Math.min(total, 1); }
  }
  const first = (q) => { let i = 0; while (i <= n && cdf[i] < q) i++; return Math.min(i, n); };
  return {expected: n * rate, likely_lower: first((1 - level) / 2),
          likely_upper: first((1 + level) / 2), none: cdf[0]};
}
"""

#: The funnel explorer (``P``: steps, level, escaped first step and goal).
FUNNEL_JS = r"""
const n = Math.round(values.contacts);
const trials = values.rate_trials ? values.rate_trials : null;
const rows = {step: [], expected: [], likely_lower: [], likely_upper: [], probability_of_none: [],
              label: [], top: []};
let p = 1.0;
for (let i = 0; i < P.steps.length; i++) {
  if (i > 0) p = p * values["rate_" + (i - 1)];
  const r = expected_range(n, p, P.level, i ? trials : null);
  rows.step.push(P.steps[i]);
  rows.expected.push(r.expected);
  rows.likely_lower.push(r.likely_lower);
  rows.likely_upper.push(r.likely_upper);
  rows.probability_of_none.push(r.none);
  rows.label.push(pyfixed(r.expected, 1) + " (" + pyint(r.likely_lower) + "\u2013" +
                  pyint(r.likely_upper) + ")");
  rows.top.push(r.likely_upper);
}
const m = rows.step.length - 1;
get(models, "funnel_explorer_source").data = rows;
get(models, "funnel_explorer_readout").text =
  "Out of <b>" + pyint(n) + "</b> " + P.first + "s, expect about <b>" +
  pyfixed(rows.expected[m], 1) + "</b> to reach " + P.goal + "; " + pypct(P.level) +
  " of the time between <b>" + pyint(rows.likely_lower[m]) + "</b> and <b>" + pyint(rows.likely_upper[m]) +
  "</b>. Chance of none: <b>" + pypct(rows.probability_of_none[m]) + "</b>.";
"""

#: The lead budget explorer (``P``: per outcome the rates, design rows and covariance of the
#: fit at the held prices; the levels, prices, z and the readout's fixed parts).
BUDGET_JS = r"""
const L = P.levels.length;
const shares = [];
let used = 0;
for (let i = 0; i < L - 1; i++) { shares.push(values["share_" + i]); used += values["share_" + i]; }
shares.push(Math.max(1.0 - used, 0.0));
const bought = [];
for (let i = 0; i < L; i++) if (shares[i] > 0) bought.push(i);
const spend = bought.map((i) => values.budget * shares[i]);
const leads = bought.map((j, k) => spend[k] / P.prices[j]);
const total_spend = spend.reduce((a, b) => a + b, 0);
const total_leads = leads.reduce((a, b) => a + b, 0);
function counts(o, sel) {
  // expected = sum n p; se by the delta method on the log scale (toolkit.lead_budget)
  const p = P.p[o], X = P.X, cov = P.cov[o];
  let expected = 0;
  const grad = new Array(X[0].length).fill(0);
  for (const k of sel) {
    const j = bought[k];
    expected += leads[k] * p[j];
    const w = leads[k] * p[j] * (1 - p[j]);
    for (let c = 0; c < grad.length; c++) grad[c] += w * X[j][c];
  }
  let q = 0;
  for (let a = 0; a < grad.length; a++) {
    let row = 0;
    for (let b = 0; b < grad.length; b++) row += cov[a][b] * grad[b];
    q += grad[a] * row;
  }
  const se = Math.sqrt(Math.max(q, 0));
  if (!(expected > 0)) return {expected, lower: 0, upper: 0};
  return {expected, lower: expected * Math.exp(-P.z * se / expected),
          upper: expected * Math.exp(P.z * se / expected)};
}
const all = bought.map((j, k) => k);
const src = get(models, "lead_budget_explorer_counts");
const looked = src.data;  // the likely range (Monte Carlo) comes from the grid
const data = {outcome: [], expected: [], ci_lower: [], ci_upper: [], likely_lower: [],
              likely_upper: [], label: [], top: []};
const parts = [];
P.outcomes.forEach((outcome, o) => {
  const c = counts(o, all);
  const lo = Number(looked.likely_lower[o]), hi = Number(looked.likely_upper[o]);
  data.outcome.push(outcome);
  data.expected.push(c.expected);
  data.ci_lower.push(c.lower);
  data.ci_upper.push(c.upper);
  data.likely_lower.push(lo);
  data.likely_upper.push(hi);
  data.label.push(pyfixed(c.expected, 1) + " (likely " + pyfixed(lo, 0) + "\u2013" +
                  pyfixed(hi, 0) + ")");
  data.top.push(hi);
  parts.push("<b>" + pyfixed(c.expected, 1) + "</b> " + P.words[o] + " (" +
             pyfixed(c.lower, 1) + " to " + pyfixed(c.upper, 1) + "; in one go you might see " +
             pyfixed(lo, 0) + " to " + pyfixed(hi, 0) + ")");
});
src.data = data;
// what one customer costs, per level (NaN where nothing is bought) and for the mix
const money = (v) => (Number.isFinite(v) ? "$" + pyfixed(v, 2) : "n/a");
const cost = get(models, "lead_quality_cost_per_source");
const cd = Object.assign({}, cost.data);
const fields = {spend: [], expected: [], cost_per: [], ci_lower: [], ci_upper: []};
const row = (s, c) => {
  fields.spend.push(s);
  fields.expected.push(c.expected);
  fields.cost_per.push(c.expected > 0 ? s / c.expected : NaN);
  fields.ci_lower.push(c.upper > 0 ? s / c.upper : NaN);
  fields.ci_upper.push(c.lower > 0 ? s / c.lower : NaN);
};
for (let j = 0; j < L; j++) {
  const k = bought.indexOf(j);
  if (k < 0) row(NaN, {expected: NaN, lower: NaN, upper: NaN});
  else row(spend[k], counts(P.customer, [k]));
}
const whole = counts(P.customer, all);
row(total_spend, whole);
Object.assign(cd, fields);
cost.data = cd;
const m = fields.cost_per.length - 1;
get(models, "lead_budget_explorer_readout").text =
  "<div style='font-size:15px'>Spending <b>" + money(total_spend) + "</b> on <b>" +
  pyfixed(total_leads, 0) + "</b> leads should bring " + parts.join(", ") + ".<br>" +
  "One customer costs <b>" + money(fields.cost_per[m]) + "</b> (" + money(fields.ci_lower[m]) +
  " to " + money(fields.ci_upper[m]) + ")." + P.warning + "</div>";
"""

#: The growth explorer's expected path, a port of :func:`toolkit.project_growth` (``P``: the
#: horizon, the fan's metric, the parameters without a control, and per recruiting-effort option
#: the effort grid of ``toolkit.growth.projection.effort_grid``). The Monte Carlo band, claim and
#: typical participant come from the grid.
GROWTH_JS = r"""
const q = Object.assign({}, P.fixed, values);
for (const name of ["warm_market_size", "market_size"]) if (q[name] === P.no_limit) q[name] = null;
const M = P.months;
const effort = P.efforts[P.dispersions.findIndex((d) => d === q.recruit_dispersion)];
let effort_mean = 0;
for (let i = 0; i < effort.length; i++) effort_mean += effort[i];
effort_mean /= effort.length;
const mult = [1.0, q.leader_multiplier];
// _warm_market_factor: the share of a rep's contact rate the people they know still allow
const g = [new Array(M + 1).fill(1.0), new Array(M + 1).fill(1.0)];
if (q.warm_market_size !== null && q.contacts_per_rep_per_month !== 0) {
  for (let row = 0; row < 2; row++) {
    if (mult[row] === 0) continue;
    const r = q.contacts_per_rep_per_month * mult[row];
    for (let a = 0; a <= M; a++) {
      let total = 0;
      for (let i = 0; i < effort.length; i++) {
        const rate = r * effort[i];
        total += Math.min(Math.max(q.warm_market_size - rate * (a - 1), 0), rate);
      }
      g[row][a] = total / effort.length / (r * effort_mean);
    }
  }
}
// _project: expected active reps by join month and leader flag, month by month
const start = q.starting_reps;
const n = [[start * (1 - q.leader_share), start * q.leader_share]];
const path = {active_reps: [start], leaders: [n[0][1]], customers: [0], new_reps: [0],
              cumulative_joined: [start], contacts: [0], new_customers: [0],
              remaining_market: [q.market_size === null ? NaN : q.market_size - start]};
let remaining = q.market_size === null ? Infinity : q.market_size - start;
let customers = 0, joined = start;
for (let t = 1; t <= M; t++) {
  let contacts = 0;
  for (let j = 0; j < t; j++)
    for (let row = 0; row < 2; row++)
      contacts += q.contacts_per_rep_per_month * n[j][row] * mult[row] * g[row][t - j];
  const fresh = q.market_size === null
    ? contacts : Math.min(contacts * remaining / q.market_size, remaining);
  remaining -= fresh;
  const new_reps = fresh * q.contact_to_rep, new_customers = fresh * q.contact_to_customer;
  for (let j = 0; j < t; j++) { n[j][0] *= 1 - q.monthly_attrition; n[j][1] *= 1 - q.monthly_attrition; }
  n.push([new_reps * (1 - q.leader_share), new_reps * q.leader_share]);
  customers = customers * (1 - q.customer_attrition) + new_customers;
  joined += new_reps;
  let active = 0, leaders = 0;
  for (const [ordinary, leader] of n) { active += ordinary + leader; leaders += leader; }
  const row = {active_reps: active, leaders, customers, new_reps, cumulative_joined: joined,
               remaining_market: q.market_size === null ? NaN : remaining, contacts, new_customers};
  for (const col in row) path[col].push(row[col]);
}
const month = path.contacts.map((v, i) => i);
get(models, "growth_fan_expected").data = {month, expected: path[P.metric].map((v) => Math.max(v, 0))};
const market = month.map(() => (q.market_size === null ? NaN : q.market_size));
const wall = get(models, "growth_explorer_wall");
wall.data = Object.assign({}, wall.data, {market, remaining_expected: path.remaining_market});
const line = get(models, "growth_fan_market");
if (line !== undefined)
  line.data = q.market_size === null ? {month: [], market: []} : {month, market};
"""
