import { isRole, roles } from '@rowshard/core';
import { roleCredential, tokenWeakness } from '@rowshard/transport/launch';
import { formatHelp } from '../command-line/help.js';
import { type CommandLineSpec, parseCommandLine } from '../command-line/parse.js';
import { type Command, usageError } from './command.js';

/**
 * Prints the credential of one role, derived from the cluster token in ROWSHARD_TOKEN: what
 * a trainer gets as ROWSHARD_ROLE_TOKEN, or what `curl -H "Authorization: Bearer ..."` sends
 * to /api/status (viewer). The token is read from the environment only (flags show in `ps`).
 */
const tokenCommandLine: CommandLineSpec = {
  command: 'token',
  summary: 'print a role credential derived from ROWSHARD_TOKEN (trainers take ROWSHARD_ROLE_TOKEN)',
  dash: '--',
  options: [{ name: 'role', type: 'string', value: roles.join('|'), help: 'whose credential' }],
  notes: ['The cluster token is read from ROWSHARD_TOKEN only (a flag would show in `ps`).'],
};

export const tokenCommand: Command = {
  summary: tokenCommandLine.summary,
  usage: `rowshard token --role ${roles.join('|')}`,
  help: () => formatHelp(tokenCommandLine),
  async run(argv) {
    const { values, positionals } = parseCommandLine(tokenCommandLine, argv, () => formatHelp(tokenCommandLine));
    if (positionals.length > 0) throw usageError('token', `unexpected argument '${positionals[0]}'`);
    const role = values.role;
    if (!isRole(role)) throw usageError('token', `--role must be one of ${roles.join(', ')}`);
    const token = process.env.ROWSHARD_TOKEN;
    if (!token) throw usageError('token', 'ROWSHARD_TOKEN is not set: the credential is derived from the cluster token');
    // A credential is as guessable as the token it comes from.
    const weak = tokenWeakness(token);
    if (weak) throw usageError('token', `ROWSHARD_TOKEN ${weak}`);
    process.stdout.write(`${roleCredential(token, role)}\n`);
    return 0;
  },
};
