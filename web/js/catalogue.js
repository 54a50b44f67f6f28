// What the catalogue offers for filters: agencies (code, name, tier) and tiers, derived from the
// procedures themselves (no agency endpoint), named from /stats or procedure details; cached.
import { api } from "./api.js";

const KEY = "motcua.agencies.v1";

async function allProcedures() {
  const items = [];
  let cursor = null;
  for (let guard = 0; guard < 50; guard += 1) {
    const page = await api("/procedures", { query: { limit: 100, cursor } });
    items.push(...(page.items || []));
    cursor = page.next_cursor;
    if (!cursor) break;
  }
  return items;
}

export async function agencies() {
  try {
    const cached = JSON.parse(sessionStorage.getItem(KEY) || "null");
    if (cached && Array.isArray(cached.agencies)) return cached;
  } catch { /* ignore */ }
  const procedures = await allProcedures();
  const byCode = new Map();
  for (const p of procedures) {
    if (!byCode.has(p.agency_code)) byCode.set(p.agency_code, { code: p.agency_code, tier: p.tier, name: null, sample: p.code });
  }
  try {
    const stats = await api("/stats");
    for (const a of (stats && stats.agencies) || []) {
      const known = byCode.get(a.agency_code);
      if (known && a.name) known.name = a.name;
    }
  } catch { /* statistics may not exist: fall back to details */ }
  const unnamed = [...byCode.values()].filter((a) => !a.name);
  await Promise.all(unnamed.map(async (a) => {
    try {
      const detail = await api(`/procedures/${encodeURIComponent(a.sample)}`);
      a.name = detail.agency_name || a.code;
    } catch {
      a.name = a.code;
    }
  }));
  const list = [...byCode.values()].map(({ code, tier, name }) => ({ code, tier, name }))
    .sort((x, y) => (x.tier || "").localeCompare(y.tier || "") || x.name.localeCompare(y.name, "vi"));
  const tiers = [...new Set(list.map((a) => a.tier).filter(Boolean))].sort().reverse();
  const result = { agencies: list, tiers };
  try { sessionStorage.setItem(KEY, JSON.stringify(result)); } catch { /* ignore */ }
  return result;
}
