// Bundles the chorus CLI and every workspace package into one file so child processes start fast
// without tsx. Third-party packages stay in node_modules: some read files beside their own code.
import { build } from "esbuild";

const externalDependencies = {
  name: "external-dependencies",
  setup(builder) {
    builder.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith("@chorus/") ? undefined : { path: args.path, external: true },
    );
  },
};

await build({
  entryPoints: [new URL("./src/main.ts", import.meta.url).pathname],
  outdir: new URL("./dist", import.meta.url).pathname,
  entryNames: "chorus",
  outExtension: { ".js": ".mjs" },
  chunkNames: "chunks/[name]-[hash]",
  splitting: true,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  sourcemap: "linked",
  plugins: [externalDependencies],
  logLevel: "warning",
});
