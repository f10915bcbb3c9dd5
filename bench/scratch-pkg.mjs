import { readFileSync } from "node:fs";
const p = JSON.parse(readFileSync(process.argv[2], "utf8"));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map(); let total = 0;
const pkg = (url) => { if (!url) return "(native)"; const m = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url); if (m) return m[1]; if (url.startsWith("node:")) return "node:" + url.slice(5).split("/").slice(0, 2).join("/"); if (url.includes("chorus-")) return "chorus"; return url; };
p.samples.forEach((id, i) => { const n = byId.get(id); const d = p.timeDeltas[i] ?? 0; total += d; let k = n.callFrame.functionName.startsWith("(") && !n.callFrame.url ? n.callFrame.functionName : pkg(n.callFrame.url); self.set(k, (self.get(k) ?? 0) + d); });
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log((v / 1000).toFixed(1).padStart(8), (100 * v / total).toFixed(1).padStart(5) + "%", k);
