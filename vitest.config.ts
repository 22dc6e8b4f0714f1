import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const pkg = (name: string) => fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url));

/**
 * Unit tests import workspace packages from source; multi-process tests spawn the built
 * dist/ (so `pnpm test` builds first). Tests must be deterministic: no timing asserts.
 */
export default defineConfig({
  resolve: {
    alias: [
      {
        find: '@rowshard/cli/config-options',
        replacement: fileURLToPath(new URL('./packages/cli/src/config/options.ts', import.meta.url)),
      },
      {
        find: '@rowshard/transport/server-metrics',
        replacement: fileURLToPath(new URL('./packages/transport/src/server-metrics.ts', import.meta.url)),
      },
      // The packages' lighter entries (what a launcher loads before its processes run).
      ...[
        ['@rowshard/transport/launch', 'transport/src/launch.ts'],
        ['@rowshard/transport/bundle-entry', 'transport/src/bundle-entry.ts'],
        ['@rowshard/coordinator/files', 'coordinator/src/files.ts'],
        ['@rowshard/trainer/data', 'trainer/src/data/index.ts'],
        ['@rowshard/ps/snapshot-read', 'ps/src/snapshot-read.ts'],
      ].map(([find, file]) => ({ find, replacement: fileURLToPath(new URL(`./packages/${file}`, import.meta.url)) })),
      {
        find: '@rowshard/coordinator/durable-file',
        replacement: fileURLToPath(new URL('./packages/coordinator/src/durable-file.ts', import.meta.url)),
      },
      // What a user model module imports the model API by (the roles map it with resolution hooks).
      { find: /^rowshard\/nn$/, replacement: pkg('nn') },
      ...['core', 'kernels', 'nn', 'transport', 'ps', 'coordinator', 'trainer', 'cli', 'testkit'].map((p) => ({
        find: `@rowshard/${p}`,
        replacement: pkg(p),
      })),
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
