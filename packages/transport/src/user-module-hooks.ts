/**
 * Module resolution hooks (node:module `register`) for user model modules: a bare specifier
 * listed in `targets` (`rowshard/nn`) resolves to the running rowshard's own module, wherever
 * the importing file lives, so a model outside any project that installed rowshard (a global
 * install, a job directory) still imports the model API, and the same instance the roles use.
 */
interface HookData {
  readonly targets: Readonly<Record<string, string>>;
}

interface ResolveResult {
  readonly url: string;
  readonly shortCircuit?: boolean;
}

let targets: Readonly<Record<string, string>> = {};

export function initialize(data: HookData): void {
  targets = data.targets;
}

export function resolve(
  specifier: string,
  context: unknown,
  nextResolve: (specifier: string, context: unknown) => Promise<ResolveResult>,
): ResolveResult | Promise<ResolveResult> {
  const target = Object.hasOwn(targets, specifier) ? targets[specifier] : undefined;
  if (target !== undefined) return { url: target, shortCircuit: true };
  return nextResolve(specifier, context);
}
