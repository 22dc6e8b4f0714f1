import { register } from 'node:module';
import { pathToFileURL } from 'node:url';

/** The bare specifiers a user model module may import rowshard's model API by. */
export const MODEL_API_SPECIFIERS = ['rowshard/nn'] as const;

let registeredFor: string | null = null;

/**
 * Imports a user model module (`model.path`). Before the first import in this thread it
 * registers resolution hooks that send `rowshard/nn` to `modelApiUrl` (the caller's
 * `import.meta.resolve('@rowshard/nn')`: this package does not depend on nn): a module anywhere on disk gets the
 * model API of the rowshard that runs it. Hooks are per thread, so each worker thread
 * registers its own on first use.
 */
export function userModuleImporter(modelApiUrl: string): (path: string) => Promise<unknown> {
  return (path) => {
    if (registeredFor === null) {
      const targets = Object.fromEntries(MODEL_API_SPECIFIERS.map((s) => [s, modelApiUrl]));
      register(new URL('./user-module-hooks.js', import.meta.url), { data: { targets } });
      registeredFor = modelApiUrl;
    } else if (registeredFor !== modelApiUrl) {
      throw new Error(`rowshard/nn already maps to ${registeredFor} in this thread, not ${modelApiUrl}`);
    }
    return import(pathToFileURL(path).href);
  };
}
