import { Document, isMap, isScalar, isSeq, type Node, Scalar, type YAMLMap } from "yaml";
import type { JsonSchema } from "./json-schema.js";

/** How a documented YAML file is laid out. */
export interface DocumentedYamlOptions {
  /** Comment lines at the top of the file. */
  readonly header: readonly string[];
  /** Strings longer than this are written as folded blocks (`>-`). */
  readonly foldAt?: number;
}

const never = (schema: JsonSchema | undefined) =>
  schema?.not !== undefined && Object.keys(schema.not).length === 0;

const WIDTH = 100;

/** A comment's text wrapped to fit WIDTH at `indent`, each line starting with a space (after `#`). */
function comment(text: string, indent: number): string {
  const room = Math.max(40, WIDTH - indent - 2);
  return text
    .split("\n")
    .flatMap((paragraph) => {
      const lines: string[] = [];
      let line = "";
      for (const word of paragraph.split(" ")) {
        if (line && line.length + 1 + word.length > room) {
          lines.push(line);
          line = word;
        } else line = line ? `${line} ${word}` : word;
      }
      return [...lines, line];
    })
    .map((line) => ` ${line}`)
    .join("\n");
}

/**
 * Hangs each key's description on the key, and names the keys the schema allows that the value
 * leaves out (no default) in a comment after the mapping. A list documents its first item only.
 */
function annotate(node: unknown, schema: JsonSchema | undefined, indent: number): void {
  if (isMap(node)) {
    const properties: Record<string, JsonSchema> = schema?.properties ?? {};
    for (const pair of node.items) {
      if (!isScalar(pair.key)) continue;
      const child = properties[String(pair.key.value)];
      if (child?.description) pair.key.commentBefore = comment(child.description, indent);
      annotate(pair.value, child, indent + 2);
    }
    annotateMissing(node, properties, indent);
  } else if (isSeq(node)) {
    const [first] = node.items;
    annotate(first, schema?.items, indent + 2);
    // The first key's comment goes above the `-`, so the item starts on its own line.
    if (isMap(first) && isScalar(first.items[0]?.key)) {
      const key = first.items[0].key as Scalar;
      first.commentBefore = key.commentBefore;
      key.commentBefore = undefined;
    }
  }
}

/** Names, in a comment after the mapping, each key it may have that has no default. */
function annotateMissing(node: YAMLMap, properties: Record<string, JsonSchema>, indent: number): void {
  const present = new Set(node.items.map((pair) => (isScalar(pair.key) ? String(pair.key.value) : "")));
  const missing = Object.entries(properties).filter(([key, child]) => !present.has(key) && !never(child));
  if (missing.length === 0) return;
  node.comment = missing
    .map(([key, child]) => comment(`${key} (no default): ${child.description ?? ""}`, indent))
    .join("\n");
}

/** Writes every string longer than `foldAt` as a folded block. */
function fold(node: unknown, foldAt: number): void {
  if (isMap(node)) for (const pair of node.items) fold(pair.value, foldAt);
  else if (isSeq(node)) for (const item of node.items) fold(item, foldAt);
  else if (isScalar(node) && typeof node.value === "string" && node.value.length > foldAt)
    node.type = Scalar.BLOCK_FOLDED;
}

/**
 * `value` as YAML with every key documented by `schema` (JSON Schema with descriptions), a blank
 * line between top-level sections, and long strings folded.
 */
export function documentedYaml(value: unknown, schema: JsonSchema, options: DocumentedYamlOptions): string {
  const doc = new Document(value);
  annotate(doc.contents, schema, 0);
  fold(doc.contents, options.foldAt ?? 60);
  if (isMap(doc.contents)) {
    doc.contents.items.forEach((pair, index) => {
      if (index > 0) (pair.key as Node).spaceBefore = true;
    });
  }
  doc.commentBefore = comment(options.header.join("\n"), 0);
  return doc.toString({ lineWidth: WIDTH });
}
