import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';

/**
 * A YAML/JSON config file's text parsed, with the line of each dotted field path. The caller
 * imports this module, not yaml itself: yaml is CommonJS, and only a static import of it keeps
 * its named exports in the bundle (packages/cli/scripts/bundle.mjs).
 */
export function parseWithLines(text: string): {
  doc: ReturnType<typeof parseDocument>;
  lineOf: (field: string) => number | null;
} {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter });
  return { doc, lineOf: (field) => lineOfPath(doc, counter, field) };
}

/** The 1-based line of a dotted path in a YAML/JSON document (or of its nearest ancestor). */
export function lineOfPath(doc: ReturnType<typeof parseDocument>, counter: LineCounter, path: string): number | null {
  let node: unknown = doc.contents;
  let line: number | null = null;
  const at = (n: { range?: [number, number, number] | null } | null | undefined) =>
    n?.range ? counter.linePos(n.range[0]).line : null;
  for (const key of path.split(/\.|\[(\d+)\]/).filter((k) => k !== undefined && k !== '')) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
      if (!pair) return line ?? at(node as Node);
      line = at(pair.key as Node) ?? line;
      node = pair.value;
    } else if (isSeq(node) && /^\d+$/.test(key)) {
      node = node.items[Number(key)];
      line = at(node as Node) ?? line;
    } else {
      return line;
    }
  }
  return line;
}
