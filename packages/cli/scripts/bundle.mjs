#!/usr/bin/env node
// Bundles rowshard's processes and threads into packages/cli/bundle/ (pnpm build runs it after
// `tsc -b`, from the packages' dist/). Each entry point becomes `<name>.js`, and the code they
// share goes into chunks beside them (esbuild's code splitting), so one process holds one copy
// of each module, whichever entry loaded it. Node 20 resolves and compiles each of the 150 to
// 280 files a role loads from node_modules and dist/ one by one; from the bundle a role starts
// in about half the CPU time (transport's bundle-entry.ts says how the code finds its entries).
//
// Left outside: piscina (it starts its own worker file from its directory) and the native
// add-ons, which are loaded from node_modules as before; the CLI package depends on each, so
// they resolve from the bundle's directory in the repository and in a `pnpm deploy` alike.
import { rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { BUNDLE_ENTRIES } from '../../transport/dist/bundle-entry.js';

const packages = dirname(dirname(dirname(fileURLToPath(import.meta.url))));
const outdir = join(packages, 'cli', 'bundle');

/** Each entry's module in the packages' dist/: BUNDLE_ENTRIES names them, this says where they are. */
const sources = {
  rowshard: 'cli/dist/main.js',
  coordinator: 'coordinator/dist/main.js',
  ps: 'ps/dist/main.js',
  trainer: 'trainer/dist/main.js',
  'trainer-worker': 'trainer/dist/worker.js',
  'model-draft-thread': 'cli/dist/fasttext/model-draft-thread.js',
  'vec-writer-thread': 'cli/dist/fasttext/vec-writer-thread.js',
  'user-module-hooks': 'transport/dist/user-module-hooks.js',
  nn: 'nn/dist/index.js',
};

const named = Object.keys(sources).sort().join(' ');
const expected = [...BUNDLE_ENTRIES].sort().join(' ');
if (named !== expected) {
  process.stderr.write(`bundle: the script's entries (${named}) are not transport's BUNDLE_ENTRIES (${expected})\n`);
  process.exit(1);
}

rmSync(outdir, { recursive: true, force: true });
try {
  const { metafile } = await build({
    entryPoints: Object.entries(sources).map(([out, file]) => ({ in: join(packages, file), out })),
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Flat: bundleEntry finds the entries beside whichever chunk it was bundled into.
    chunkNames: 'chunk-[hash]',
    external: ['piscina', 'bufferutil', 'utf-8-validate', 'msgpackr-extract'],
    define: { ROWSHARD_BUNDLE: 'true' },
    // The CommonJS dependencies bundled (prom-client, ws) call require() for Node's own modules,
    // and msgpackr uses it, when defined, for its native add-on.
    banner: {
      js: "import { createRequire as rowshardCreateRequire } from 'node:module';\nconst require = rowshardCreateRequire(import.meta.url);",
    },
    logLevel: 'warning',
    metafile: true,
  });
  // What it was made from (paths relative to packages/), for the test that it is not stale.
  const inputs = Object.keys(metafile.inputs).map((p) => relative(packages, resolve(p)));
  writeFileSync(join(outdir, 'inputs.json'), `${JSON.stringify(inputs, null, 1)}\n`);
} catch (e) {
  process.stderr.write(`bundle: esbuild failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
}
