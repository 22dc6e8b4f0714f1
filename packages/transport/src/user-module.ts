import { register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { bundleEntry } from './bundle-entry.js';

/** The bare specifiers a user model module may import rowshard's model API by. */
export const MODEL_API_SPECIFIERS = ['rowshard/nn'] as const;

let registeredFor: string | null = null;

/**
 * Imports a user model module (`model.path`). Before the first import in this thread it
 * registers resolution hooks that send `rowshard/nn` to the running rowshard's model API: the
 * bundle's nn when this runs from the bundle (bundleEntry), else `unbundledModelApiUrl` (the
 * caller's `import.meta.resolve('@rowshard/nn')`: this package does not depend on nn). So a
 * module anywhere on disk gets the model API, and the same instance the roles use. Hooks are
 * per thread, so each worker thread registers its own on first use.
 */
export function userModuleImporter(unbundledModelApiUrl: string): (path: string) => Promise<unknown> {
  // From the bundle, its own nn: the instance its roles' code was bundled with.
  const modelApiUrl = bundleEntry('nn')?.href ?? unbundledModelApiUrl;
  return (path) => {
    if (registeredFor === null) {
      const targets = Object.fromEntries(MODEL_API_SPECIFIERS.map((s) => [s, modelApiUrl]));
      register(bundleEntry('user-module-hooks') ?? new URL('./user-module-hooks.js', import.meta.url), { data: { targets } });
      registeredFor = modelApiUrl;
    } else if (registeredFor !== modelApiUrl) {
      throw new Error(`rowshard/nn already maps to ${registeredFor} in this thread, not ${modelApiUrl}`);
    }
    return import(pathToFileURL(path).href);
  };
}
