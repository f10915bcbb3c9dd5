// Bundles the chorus CLI (every service in one file) so child processes start fast without tsx.
import { build } from "esbuild";

await build({
  entryPoints: [new URL("./src/main.ts", import.meta.url).pathname],
  outfile: new URL("./dist/chorus.mjs", import.meta.url).pathname,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "linked",
  external: ["better-sqlite3"],
  banner: {
    js: "import { createRequire as __chorusRequire } from 'node:module'; const require = __chorusRequire(import.meta.url);",
  },
  logLevel: "warning",
});
