/**
 * rowshard's bundle: packages/cli/bundle/, made after `tsc -b` by packages/cli/scripts/bundle.mjs.
 * Every process's and thread's entry point is one file there, and the code they share sits in
 * chunks beside them. A process loads a few files instead of some 150 to 280 modules from
 * node_modules and the packages' dist/, which starts each role in about half the CPU time.
 *
 * A process started from the bundle starts its other processes and threads from it too, and a
 * user model module's `rowshard/nn` is the bundle's nn, the same instance the roles use. Each
 * place that names an entry file asks `bundleEntry` first. Outside the bundle (the packages'
 * dist/, the tests' sources) it answers null, and the caller uses its own relative path.
 */

/** The bundle's entry points, each written as `<name>.js`; the bundle script builds exactly these. */
export const BUNDLE_ENTRIES = [
  'rowshard',
  'coordinator',
  'ps',
  'trainer',
  'trainer-worker',
  'model-draft-thread',
  'vec-writer-thread',
  'user-module-hooks',
  'nn',
] as const;

export type BundleEntry = (typeof BUNDLE_ENTRIES)[number];

// Replaced by `true` when the bundle script compiles this file (esbuild's define); elsewhere
// no such global exists, and `typeof` says so without throwing.
declare const ROWSHARD_BUNDLE: boolean | undefined;

/** The entry file `name` of the bundle this code runs from, or null when it runs unbundled. */
export function bundleEntry(name: BundleEntry): URL | null {
  if (typeof ROWSHARD_BUNDLE === 'undefined' || ROWSHARD_BUNDLE !== true) return null;
  // Entries and chunks share one directory, so this file's URL (a chunk's) is the bundle's.
  return new URL(`./${name}.js`, import.meta.url);
}
