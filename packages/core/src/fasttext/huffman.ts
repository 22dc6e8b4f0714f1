/**
 * fastText's Huffman tree for hierarchical softmax (`HierarchicalSoftmaxLoss::buildTree`):
 * leaves are the targets in dictionary order (counts descending), inner nodes n..2n-2 merged
 * two at a time from the two smallest; inner node i's row of the output matrix is i − n. The
 * same tree fastText builds, so a fastText hs model's output rows mean the same here.
 */
export interface HuffmanTree {
  readonly leaves: number;
  readonly root: number;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly parent: Int32Array;
  /** Whether a node is its parent's right child (the bit of its code). */
  readonly binary: Uint8Array;
}

export function buildHuffmanTree(counts: readonly number[]): HuffmanTree {
  const n = counts.length;
  const size = Math.max(1, 2 * n - 1);
  const left = new Int32Array(size).fill(-1);
  const right = new Int32Array(size).fill(-1);
  const parent = new Int32Array(size).fill(-1);
  const binary = new Uint8Array(size);
  const count = new Float64Array(size).fill(1e15);
  for (let i = 0; i < n; i++) count[i] = counts[i];
  let leaf = n - 1;
  let node = n;
  for (let i = n; i < 2 * n - 1; i++) {
    const mini = [0, 0];
    for (let j = 0; j < 2; j++) {
      if (leaf >= 0 && count[leaf] < count[node]) mini[j] = leaf--;
      else mini[j] = node++;
    }
    left[i] = mini[0];
    right[i] = mini[1];
    count[i] = count[mini[0]] + count[mini[1]];
    parent[mini[0]] = i;
    parent[mini[1]] = i;
    binary[mini[1]] = 1;
  }
  return { leaves: n, root: 2 * n - 2, left, right, parent, binary };
}

/** The inner-node rows (node − n) and code bits from a leaf up to the root. */
export function huffmanPath(tree: HuffmanTree, target: number): { rows: number[]; bits: number[] } {
  const rows: number[] = [];
  const bits: number[] = [];
  for (let j = target; tree.parent[j] !== -1; j = tree.parent[j]) {
    rows.push(tree.parent[j] - tree.leaves);
    bits.push(tree.binary[j]);
  }
  return { rows, bits };
}
