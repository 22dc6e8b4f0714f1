/**
 * The orders fastText's own binary produces come from libstdc++'s `std::sort` (an introsort,
 * not stable) and its heap functions (`push_heap`, `pop_heap`, `sort_heap`). Where elements
 * tie (words of equal count, labels of equal probability) the order fastText writes is the
 * order these algorithms leave, so to be equal to fastText bit for bit rowshard runs the same
 * algorithms, step for step, here (written from their documented behaviour in GCC's
 * `bits/stl_algo.h` and `bits/stl_heap.h`; no code copied). `less(a, b)` is the C++
 * comparator: true when a goes before b.
 */
export type Less<T> = (a: T, b: T) => boolean;

const SORT_THRESHOLD = 16;

/** libstdc++'s `std::sort(a.begin(), a.end(), less)`, in place. */
export function stlSort<T>(a: T[], less: Less<T>): void {
  const n = a.length;
  if (n < 2) return;
  introsortLoop(a, 0, n, 2 * (31 - Math.clz32(n)), less);
  finalInsertionSort(a, 0, n, less);
}

function swap<T>(a: T[], i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

function introsortLoop<T>(a: T[], first: number, last: number, depthLimit: number, less: Less<T>): void {
  while (last - first > SORT_THRESHOLD) {
    if (depthLimit === 0) {
      // libstdc++'s fallback: a heap sort of the range.
      makeHeap(a, first, last, less);
      sortHeapRange(a, first, last, less);
      return;
    }
    depthLimit--;
    const cut = partitionPivot(a, first, last, less);
    introsortLoop(a, cut, last, depthLimit, less);
    last = cut;
  }
}

function partitionPivot<T>(a: T[], first: number, last: number, less: Less<T>): number {
  const mid = first + Math.floor((last - first) / 2);
  moveMedianToFirst(a, first, first + 1, mid, last - 1, less);
  // Unguarded partition of [first + 1, last) around a[first].
  let lo = first + 1;
  let hi = last;
  for (;;) {
    while (less(a[lo], a[first])) lo++;
    hi--;
    while (less(a[first], a[hi])) hi--;
    if (!(lo < hi)) return lo;
    swap(a, lo, hi);
    lo++;
  }
}

function moveMedianToFirst<T>(a: T[], result: number, x: number, y: number, z: number, less: Less<T>): void {
  if (less(a[x], a[y])) {
    if (less(a[y], a[z])) swap(a, result, y);
    else if (less(a[x], a[z])) swap(a, result, z);
    else swap(a, result, x);
  } else if (less(a[x], a[z])) swap(a, result, x);
  else if (less(a[y], a[z])) swap(a, result, z);
  else swap(a, result, y);
}

function finalInsertionSort<T>(a: T[], first: number, last: number, less: Less<T>): void {
  if (last - first > SORT_THRESHOLD) {
    insertionSort(a, first, first + SORT_THRESHOLD, less);
    for (let i = first + SORT_THRESHOLD; i < last; i++) unguardedLinearInsert(a, i, less);
  } else insertionSort(a, first, last, less);
}

function insertionSort<T>(a: T[], first: number, last: number, less: Less<T>): void {
  if (first === last) return;
  for (let i = first + 1; i < last; i++) {
    if (less(a[i], a[first])) {
      const v = a[i];
      for (let j = i; j > first; j--) a[j] = a[j - 1];
      a[first] = v;
    } else unguardedLinearInsert(a, i, less);
  }
}

function unguardedLinearInsert<T>(a: T[], last: number, less: Less<T>): void {
  const v = a[last];
  let next = last - 1;
  while (less(v, a[next])) {
    a[last] = a[next];
    last = next;
    next--;
  }
  a[last] = v;
}

function adjustHeap<T>(a: T[], first: number, holeIndex: number, len: number, value: T, less: Less<T>): void {
  const topIndex = holeIndex;
  let secondChild = holeIndex;
  while (secondChild < Math.floor((len - 1) / 2)) {
    secondChild = 2 * (secondChild + 1);
    if (less(a[first + secondChild], a[first + secondChild - 1])) secondChild--;
    a[first + holeIndex] = a[first + secondChild];
    holeIndex = secondChild;
  }
  if ((len & 1) === 0 && secondChild === Math.floor((len - 2) / 2)) {
    secondChild = 2 * (secondChild + 1);
    a[first + holeIndex] = a[first + secondChild - 1];
    holeIndex = secondChild - 1;
  }
  pushHeapHole(a, first, holeIndex, topIndex, value, less);
}

function pushHeapHole<T>(a: T[], first: number, holeIndex: number, topIndex: number, value: T, less: Less<T>): void {
  let parent = Math.floor((holeIndex - 1) / 2);
  while (holeIndex > topIndex && less(a[first + parent], value)) {
    a[first + holeIndex] = a[first + parent];
    holeIndex = parent;
    parent = Math.floor((holeIndex - 1) / 2);
  }
  a[first + holeIndex] = value;
}

function makeHeap<T>(a: T[], first: number, last: number, less: Less<T>): void {
  const len = last - first;
  if (len < 2) return;
  for (let parent = Math.floor((len - 2) / 2); ; parent--) {
    adjustHeap(a, first, parent, len, a[first + parent], less);
    if (parent === 0) return;
  }
}

function sortHeapRange<T>(a: T[], first: number, last: number, less: Less<T>): void {
  while (last - first > 1) {
    last--;
    const v = a[last];
    a[last] = a[first];
    adjustHeap(a, first, 0, last - first, v, less);
  }
}

/** `std::push_heap(a.begin(), a.end(), less)`: the last element joins the heap. */
export function stlPushHeap<T>(a: T[], less: Less<T>): void {
  const n = a.length;
  if (n > 1) pushHeapHole(a, 0, n - 1, 0, a[n - 1], less);
}

/** `std::pop_heap(a.begin(), a.end(), less)`: the top moves to the end (the caller pops it). */
export function stlPopHeap<T>(a: T[], less: Less<T>): void {
  const n = a.length;
  if (n < 2) return;
  const v = a[n - 1];
  a[n - 1] = a[0];
  adjustHeap(a, 0, 0, n - 1, v, less);
}

/** `std::sort_heap(a.begin(), a.end(), less)`. */
export function stlSortHeap<T>(a: T[], less: Less<T>): void {
  sortHeapRange(a, 0, a.length, less);
}
