import { type Document, isMap, isScalar, type Node, type Pair, parseDocument, type YAMLMap } from "yaml";

/**
 * What `helm template` is run with for k8s/: the default values, without the `helm test` pod, with
 * certificates and the API keys file from Secrets the operator makes (a generated certificate would
 * change on every run, and kustomize cannot keep one across applies as Helm's lookup does).
 */
export const TWIN_TEMPLATE_ARGS = [
  "--skip-tests",
  "--set",
  "tls.source=existingSecrets",
  "--set",
  "auth.existingSecret=chorus-api-keys",
];

/** Labels only Helm's own bookkeeping needs. */
export const HELM_LABELS = ["helm.sh/chart", "app.kubernetes.io/managed-by"];

const KIND_ORDER = [
  "ServiceAccount",
  "Role",
  "RoleBinding",
  "Secret",
  "ConfigMap",
  "Deployment",
  "StatefulSet",
  "Service",
  "PodDisruptionBudget",
  "NetworkPolicy",
];

const GENERATED = "Generated from charts/chorus by `npm run generate` (charts/chorus/scripts/generate.ts).";

/** What each component's file holds, for the comment at its top. */
const ABOUT: Record<string, (pool?: string) => string[]> = {
  orchestrator: () => [
    "The orchestrator: admits turns, dispatches them to the agent pools and scales the pools",
    "(the Lease holder does). Its ServiceAccount may only do what the KubernetesProvider needs.",
    "It serves TLS with, and dials the mesh as, Secret chorus-orchestrator-tls, and takes API keys",
    "from Secret chorus-api-keys (see kustomization.yaml).",
  ],
  history: () => [
    "The history service: conversations in SQLite on a PersistentVolumeClaim, one replica.",
    "It serves mTLS, to the orchestrator only, with Secret chorus-history-tls (see kustomization.yaml).",
  ],
  agent: (pool) => [
    `The ${pool} agent pool: one Deployment (a replica is a block), a Service whose`,
    'EndpointSlices the orchestrator reads (port "grpc"), and the pool\'s config file.',
    "It serves mTLS, to the orchestrator only, with Secret chorus-agent-tls (see kustomization.yaml).",
    "OPENAI_API_KEY comes from the optional Secret chorus-openai:",
    "  kubectl create secret generic chorus-openai --from-literal=OPENAI_API_KEY=sk-...",
  ],
  "llm-sim": () => [
    "chorus llm-sim: the built-in OpenAI-compatible simulated model (answers say they are simulated).",
    "To use a real model, delete this file from kustomization.yaml and set llm.base_url in each",
    "agent-*.yaml and orchestrator.yaml config (and an OPENAI_API_KEY Secret, see agent-*.yaml).",
  ],
  redis: () => ["The response cache's Redis: one memory-only replica."],
};

const KUSTOMIZATION_HEAD = `# Chorus as plain manifests: \`helm template chorus charts/chorus\` with the default values,
# one file per component.
# ${GENERATED}
# Apply with
#   kubectl apply -k k8s/
# Differences from the chart: no Helm labels, no checksum/config annotations (after editing a
# config file, \`kubectl rollout restart\` the component), no \`helm test\` pod, agent
# Deployments without replicas, so re-applying never undoes the orchestrator's scaling, and no
# certificates or keys: it is the chart with tls.source=existingSecrets and
# auth.existingSecret=chorus-api-keys, so these Secrets must exist first (pods wait for them):
#   chorus-orchestrator-tls, chorus-agent-tls, chorus-history-tls: tls.crt, tls.key and ca.crt (one
#     CA for all three), certificates for server and client auth naming chorus-orchestrator (and
#     the Service's names: chorus-orchestrator.<namespace>.svc, ...), chorus-agent and
#     chorus-history. cert-manager can make them, or the chart, once, for your namespace:
#       helm template chorus charts/chorus -n <namespace> --set auth.existingSecret=chorus-api-keys \\
#         --show-only templates/tls-secret.yaml | kubectl apply -n <namespace> -f -
#   chorus-api-keys: keys.yaml, the API keys file (it holds only hashes). \`chorus keys create\`
#     prints a key (line 1: give it to its holder) and then its entry:
#       chorus keys create --principal alice --roles user > alice.txt
#       { echo keys:; tail -n +3 alice.txt; } > keys.yaml
#       kubectl create secret generic chorus-api-keys --from-file=keys.yaml
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization

# To install elsewhere than the current namespace (kustomize also rewrites the RoleBinding subject):
# namespace: chorus

# To use your own build of the image:
# images:
#   - name: chorus
#     newName: registry.example.com/chorus
#     newTag: 0.1.0

resources:
`;

/** One rendered object: its text as helm wrote it (comments and layout kept) and the parsed tree. */
interface Rendered {
  readonly text: string;
  // biome-ignore lint/suspicious/noExplicitAny: manifests are untyped trees.
  readonly object: Record<string, any>;
  readonly doc: Document;
}

/** The whole lines that hold a pair (key and value), as [start, end) offsets into `text`. */
function lines(text: string, pair: Pair): [number, number] {
  const key = pair.key as Node;
  const value = (pair.value ?? key) as Node;
  const start = text.lastIndexOf("\n", (key.range?.[0] ?? 0) - 1) + 1;
  const newline = text.indexOf("\n", (value.range?.[1] ?? 0) - 1);
  return [start, newline < 0 ? text.length : newline + 1];
}

/** The pair at `path` (keys from the document's root), if the document has one. */
function pairAt(doc: Document, path: readonly string[]): Pair | undefined {
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  return isMap(parent)
    ? (parent as YAMLMap).items.find((p) => isScalar(p.key) && p.key.value === path.at(-1))
    : undefined;
}

/**
 * One rendered object as the twin holds it, cut out of helm's text so the templates' layout and
 * comments stay: no Helm labels, no checksum/config, no replicas for an agent pool, no `# Source:`.
 */
function asTwin({ text, object, doc }: Rendered): string {
  const cuts: { span: [number, number]; insert: string }[] = [];
  /** Takes out the pair at `path`, leaving `comment` (if any) at its indentation. */
  const cut = (path: string[], comment?: string) => {
    const pair = pairAt(doc, path);
    if (!pair) return;
    const span = lines(text, pair);
    const indent = /^ */.exec(text.slice(span[0]))?.[0] ?? "";
    cuts.push({ span, insert: comment ? `${indent}# ${comment}\n` : "" });
  };
  for (const label of HELM_LABELS) cut(["metadata", "labels", label]);
  const annotations = object.spec?.template?.metadata?.annotations ?? {};
  const onlyChecksum = Object.keys(annotations).length === 1;
  if ("checksum/config" in annotations)
    cut(["spec", "template", "metadata", "annotations", ...(onlyChecksum ? [] : ["checksum/config"])]);
  if (object.kind === "Deployment" && object.metadata.labels["app.kubernetes.io/component"] === "agent")
    cut(
      ["spec", "replicas"],
      "No replicas: the orchestrator (or kubectl scale) owns them; a new pool starts at 1 (init_blocks).",
    );
  let out = text;
  for (const { span, insert } of cuts.sort((a, b) => b.span[0] - a.span[0]))
    out = out.slice(0, span[0]) + insert + out.slice(span[1]);
  return out.replace(/^# Source: .*\n/m, "");
}

/** The file an object belongs in: its component, or `agent-<pool>` for a pool's objects. */
function stemOf({ object }: Rendered): string {
  const labels = object.metadata?.labels ?? {};
  const component: string | undefined = labels["app.kubernetes.io/component"];
  if (!component) throw new Error(`${object.kind}/${object.metadata?.name} has no component label`);
  const pool: string | undefined = labels["chorus.dev/pool"];
  return pool ? `${component}-${pool}` : component;
}

/** One component's file: a comment saying what it is, then its objects in KIND_ORDER. */
function fileText(stem: string, objects: Rendered[]): string {
  const [component = "", pool] = stem.startsWith("agent-") ? ["agent", stem.slice(6)] : [stem];
  const about = ABOUT[component]?.(pool);
  if (!about) throw new Error(`k8s-twin: no description of component ${component}`);
  const rank = ({ object }: Rendered) => {
    const index = KIND_ORDER.indexOf(object.kind);
    return index < 0 ? KIND_ORDER.length : index;
  };
  const sorted = [...objects].sort((a, b) => rank(a) - rank(b));
  const head = [GENERATED, ...about].map((line) => `# ${line}`).join("\n");
  return `${head}\n${sorted.map((rendered) => `---\n${asTwin(rendered)}`).join("")}`;
}

/** helm's output split into its objects. */
function renderedObjects(helmOutput: string): Rendered[] {
  return helmOutput
    .split(/^---\n/m)
    .map((text) => ({ text, doc: parseDocument(text) }))
    .filter(({ doc }) => doc.contents !== null)
    .map(({ text, doc }) => {
      if (doc.errors.length > 0) throw new Error(`invalid YAML from helm: ${doc.errors[0]?.message}`);
      return { text: text.endsWith("\n") ? text : `${text}\n`, doc, object: doc.toJS() };
    });
}

/**
 * k8s/ as file name → text, from the output of `helm template … TWIN_TEMPLATE_ARGS`: one file per
 * component (one per agent pool), in the order the chart renders them, and kustomization.yaml.
 */
export function twinFiles(helmOutput: string): Map<string, string> {
  const byStem = new Map<string, Rendered[]>();
  for (const rendered of renderedObjects(helmOutput)) {
    const stem = stemOf(rendered);
    byStem.set(stem, [...(byStem.get(stem) ?? []), rendered]);
  }
  const order = ["orchestrator", "history", "agent", "llm-sim", "redis"];
  const stems = [...byStem.keys()].sort(
    (a, b) => order.indexOf(a.replace(/^agent-.*/, "agent")) - order.indexOf(b.replace(/^agent-.*/, "agent")),
  );
  const files = new Map(stems.map((stem) => [`${stem}.yaml`, fileText(stem, byStem.get(stem) ?? [])]));
  const resources = stems.map((stem) => `  - ${stem}.yaml\n`).join("");
  return new Map([...files, ["kustomization.yaml", `${KUSTOMIZATION_HEAD}${resources}`]]);
}
