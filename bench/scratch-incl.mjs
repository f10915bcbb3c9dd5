import { readFileSync } from "node:fs";
const p = JSON.parse(readFileSync(process.argv[2], "utf8"));
const filter = process.argv[3] ?? "";
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const incl = new Map(); let total = 0;
const key = (n) => { const cf = n.callFrame; return `${cf.functionName || "(anon)"} ${cf.url.split("/").slice(-1)[0]}:${cf.lineNumber}`; };
p.samples.forEach((id, i) => {
  const d = p.timeDeltas[i] ?? 0; total += d;
  const seen = new Set(); let cur = id;
  while (cur !== undefined) { const n = byId.get(cur); const k = key(n); if (!seen.has(k)) { seen.add(k); incl.set(k, (incl.get(k) ?? 0) + d); } cur = parent.get(cur); }
});
const rows = [...incl].filter(([k]) => k.includes(filter)).sort((a, b) => b[1] - a[1]).slice(0, Number(process.argv[4] ?? 40));
for (const [k, v] of rows) console.log((v / 1000).toFixed(1).padStart(8), (100 * v / total).toFixed(1).padStart(5) + "%", k);
