/**
 * What a launcher needs from transport without the wire: credentials, the role lifecycle
 * (exitWithParent, roleArguments) and user modules. The package's main entry also loads the
 * WebSocket and msgpack stack (ws alone takes 30-45 ms to load), which a command that only
 * starts processes has no use for before they run.
 */
export * from './auth.js';
export * from './bundle-entry.js';
export * from './lifecycle.js';
export * from './user-module.js';
