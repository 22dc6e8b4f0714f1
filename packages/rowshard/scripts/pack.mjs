// Packs the installable `rowshard` package: `pnpm pack:rowshard [--out-dir DIR]` writes
// rowshard-<version>.tgz (default: the current directory). The workspace packages it runs on
// (@rowshard/cli, nn, core, ...) are private and unpublished, so they travel inside the tarball
// as bundled dependencies (their built dist/, the CLI's bundle/, and package.json, workspace:* pinned to the
// version), and so do their registry dependencies (ws, msgpackr, piscina, ...) at the versions
// the workspace tested: `npm install -g ./rowshard-*.tgz` needs no registry. (Bundling only
// the workspace packages is not enough: npm then links no bins for the registry dependencies
// of a global install, and bufferutil's install script fails.) Run after `pnpm build`.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const packagesDir = dirname(here);
const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));

function outDir(argv) {
  const i = argv.indexOf('--out-dir');
  if (i < 0) return process.cwd();
  if (argv[i + 1] === undefined) throw new Error('--out-dir needs a directory');
  return resolve(argv[i + 1]);
}

/** The workspace packages `rowshard` needs at run time: its own dependencies, transitively. */
function internalClosure(rootManifest) {
  const found = new Map();
  const visit = (deps) => {
    for (const [name, spec] of Object.entries(deps ?? {})) {
      if (!String(spec).startsWith('workspace:') || found.has(name)) continue;
      const dir = join(packagesDir, name.replace('@rowshard/', ''));
      const manifest = readJson(join(dir, 'package.json'));
      if (manifest.name !== name) throw new Error(`${dir}/package.json is ${manifest.name}, expected ${name}`);
      if (!existsSync(join(dir, 'dist'))) throw new Error(`${name} is not built (no ${dir}/dist): run pnpm build first`);
      found.set(name, { dir, manifest });
      visit(manifest.dependencies);
    }
  };
  visit(rootManifest.dependencies);
  return found;
}

/** The version of a registry dependency that the workspace installed for `dir`'s package. */
function installedVersion(dir, name) {
  const manifest = join(dir, 'node_modules', name, 'package.json');
  if (!existsSync(manifest)) throw new Error(`${name} is not installed for ${dir}: run pnpm install first`);
  return readJson(manifest).version;
}

/** workspace:* → the workspace package's version; registry dependencies → the installed version. */
function pinDependencies(deps, dir, internal, external, owner) {
  const pinned = {};
  for (const [name, spec] of Object.entries(deps ?? {})) {
    if (String(spec).startsWith('workspace:')) {
      pinned[name] = internal.get(name).manifest.version;
    } else {
      const version = installedVersion(dir, name);
      const seen = external.get(name);
      if (seen && seen.version !== version)
        throw new Error(`${name}: ${seen.owner} has ${seen.version}, ${owner} has ${version}`);
      external.set(name, { version, owner });
      pinned[name] = spec;
    }
  }
  return pinned;
}

/** A published manifest: what Node needs to load the package, nothing of the workspace. */
function publishedManifest(manifest, dependencies) {
  const { private: _private, devDependencies: _dev, scripts: _scripts, ...rest } = manifest;
  return { ...rest, dependencies };
}

const rootManifest = readJson(join(here, 'package.json'));
const internal = internalClosure(rootManifest);
const external = new Map();
const stage = mkdtempSync(join(tmpdir(), 'rowshard-pack-'));
const run = (command, args) => execFileSync(command, args, { cwd: stage, stdio: ['ignore', 'pipe', 'inherit'] });
try {
  const internalManifests = new Map();
  for (const [name, { dir, manifest }] of internal) {
    internalManifests.set(
      name,
      publishedManifest(manifest, pinDependencies(manifest.dependencies, dir, internal, external, name)),
    );
  }
  const dependencies = pinDependencies(rootManifest.dependencies, here, internal, external, rootManifest.name);
  // The registry dependencies first, alone (npm would look the unpublished @rowshard/* up), at
  // the tested versions, laid out flat as npm lays out a package's own node_modules.
  const pinnedExternal = Object.fromEntries([...external].map(([name, { version }]) => [name, version]).sort());
  writeFileSync(
    join(stage, 'package.json'),
    `${JSON.stringify({ name: 'stage', private: true, dependencies: pinnedExternal })}\n`,
  );
  run('npm', ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock', '--prefer-offline']);
  for (const [name, { dir, manifest }] of internal) {
    const target = join(stage, 'node_modules', name);
    mkdirSync(target, { recursive: true });
    // What the package's `files` lists (dist/; the CLI's bundle/ too). Declarations stay
    // (TypeScript users of rowshard/nn); source maps point at sources not shipped.
    for (const f of manifest.files ?? ['dist']) {
      if (!existsSync(join(dir, f))) throw new Error(`${name} has no ${f}/: run pnpm build first`);
      cpSync(join(dir, f), join(target, f), {
        recursive: true,
        filter: (src) => !src.endsWith('.map') && !src.endsWith('.tsbuildinfo'),
      });
    }
    writeFileSync(join(target, 'package.json'), `${JSON.stringify(internalManifests.get(name), null, 2)}\n`);
  }
  const allDependencies = { ...dependencies, ...pinnedExternal };
  const top = {
    ...publishedManifest(rootManifest, Object.fromEntries(Object.entries(allDependencies).sort())),
    bundleDependencies: Object.keys(allDependencies).sort(),
  };
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(top, null, 2)}\n`);
  for (const f of rootManifest.files) cpSync(join(here, f), join(stage, f), { recursive: true });
  // pnpm packs bundled dependencies only from a hoisted node_modules, which the stage is.
  writeFileSync(join(stage, 'pnpm-workspace.yaml'), 'nodeLinker: hoisted\n');
  const out = outDir(process.argv.slice(2));
  mkdirSync(out, { recursive: true });
  run('npx', ['-y', 'pnpm@12.4.2', 'pack', '--pack-destination', out]);
  const tarball = join(out, `${top.name}-${top.version}.tgz`);
  if (!existsSync(tarball)) throw new Error(`pnpm pack did not write ${tarball}`);
  process.stdout.write(`${tarball}\n`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}
