import { isMap, isScalar, isSeq, type LineCounter, type Node, type parseDocument } from 'yaml';

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
