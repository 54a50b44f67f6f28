// What the catalogue offers for filters: the agencies that receive procedures (GET /agencies,
// with names in both languages) and the tiers they belong to; cached for the session.
import { api } from "./api.js";

const KEY = "motcua.agencies.v2";

export async function agencies() {
  try {
    const cached = JSON.parse(sessionStorage.getItem(KEY) || "null");
    if (cached && Array.isArray(cached.agencies)) return cached;
  } catch { /* ignore */ }
  const answer = await api("/agencies");
  const list = ((answer && answer.items) || [])
    .filter((a) => a.procedures > 0)
    .map(({ code, tier, name, name_en }) => ({ code, tier, name, name_en }))
    .sort((x, y) => (x.tier || "").localeCompare(y.tier || "") || x.name.localeCompare(y.name, "vi"));
  const tiers = [...new Set(list.map((a) => a.tier).filter(Boolean))].sort().reverse();
  const result = { agencies: list, tiers };
  try { sessionStorage.setItem(KEY, JSON.stringify(result)); } catch { /* ignore */ }
  return result;
}
