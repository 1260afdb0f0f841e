// Every command: its words, the options it accepts, and its help text.
import type { OptionName } from '../args';
import type { CommandContext } from '../context';
import type { ExitCode } from '../io';
import { keysGenerate } from './keys-generate';
import {
  keysCompromise,
  keysDisable,
  keysInit,
  keysRotate,
  keysRotateMaster,
  keysStatus,
} from './keys';
import { migrateCommand } from './migrate';
import { rewrapCommand } from './rewrap';
import { jwks, revokeSubject, sweep } from './simple';
import { stats } from './stats';

/** One command of the CLI. */
export interface CommandDef {
  readonly words: readonly string[];
  readonly usage: string;
  readonly summary: string;
  readonly details: string;
  readonly options: readonly OptionName[];
  readonly args: { readonly min: number; readonly max: number };
  run(ctx: CommandContext): Promise<ExitCode>;
}

const STORE: readonly OptionName[] = ['store'];
const KEYS: readonly OptionName[] = ['store', 'keys-file', 'master-key-file', 'key-set'];
const ROTATING: readonly OptionName[] = ['store', 'master-key-file', 'key-set'];

/** The commands, in help order. */
export const COMMANDS: readonly CommandDef[] = [
  {
    words: ['keys', 'generate'],
    usage:
      'keys generate [--kind signing|storage|index|master] [--alg EdDSA|ES256|PS256|RS256] [--out FILE]',
    summary: 'generate a signing key (private JWK) or a 256-bit secret',
    details:
      'Prints the new key on stdout, or writes it to --out FILE with mode 0600 (never overwriting).\n--kind signing (default) makes a private JWK (--alg, default EdDSA); storage, index and\nmaster make 32 random bytes, base64url.',
    options: ['kind', 'alg', 'out'],
    args: { min: 0, max: 0 },
    run: keysGenerate,
  },
  {
    words: ['keys', 'init'],
    usage: 'keys init',
    summary: 'create the rotating key set in the store (once)',
    details:
      'Creates the key set sealed under the master key when the store has none, then shows it.\nOther commands refuse to run without an existing key set, so a mistyped store URL or\nprefix never starts a new one.',
    options: ROTATING,
    args: { min: 0, max: 0 },
    run: keysInit,
  },
  {
    words: ['keys', 'status'],
    usage: 'keys status',
    summary: 'show key ids, states and dates (never key material)',
    details:
      'Rotating key set: every signing and storage key with its state. Static keys: their ids.',
    options: KEYS,
    args: { min: 0, max: 0 },
    run: keysStatus,
  },
  {
    words: ['keys', 'rotate'],
    usage: 'keys rotate [signing|storage]',
    summary: 'start a rotation: a new pending key that becomes primary after its publish window',
    details:
      'Without a kind, rotates both. When a successor is already pending, that one is kept.\nAfter a storage rotation has taken effect, run `cloakroom rewrap`.',
    options: ROTATING,
    args: { min: 0, max: 1 },
    run: keysRotate,
  },
  {
    words: ['keys', 'compromise'],
    usage: 'keys compromise <id>',
    summary: 'disable a leaked signing or storage key at once',
    details:
      'Tokens signed and sessions sealed under the key stop working at once; a primary key is\nreplaced at once. Use `keys status` to find the id.',
    options: ROTATING,
    args: { min: 1, max: 1 },
    run: keysCompromise,
  },
  {
    words: ['keys', 'disable'],
    usage: 'keys disable <id>',
    summary: 'disable a retired key (e.g. the old storage key once rewrap left it no records)',
    details:
      'Routine retirement: refuses the primary key. Check with `cloakroom stats` that no\nrecords remain under a storage key before disabling it: they would stop opening.',
    options: ROTATING,
    args: { min: 1, max: 1 },
    run: keysDisable,
  },
  {
    words: ['keys', 'rotate-master'],
    usage: 'keys rotate-master',
    summary: 're-seal the key set under a new master key',
    details:
      'The new master key comes from CLOAKROOM_NEW_MASTER_KEY or --new-master-key-file FILE.\nKeys and sessions are unchanged; every instance needs the new master key afterwards.',
    options: [...ROTATING, 'new-master-key-file'],
    args: { min: 0, max: 0 },
    run: keysRotateMaster,
  },
  {
    words: ['jwks'],
    usage: 'jwks',
    summary: 'print the public signing keys as a JWKS',
    details: 'The document to serve at /.well-known/jwks.json. Always JSON.',
    options: KEYS,
    args: { min: 0, max: 0 },
    run: jwks,
  },
  {
    words: ['rewrap'],
    usage: 'rewrap [--batch-size N] [--cursor CURSOR]',
    summary: 're-seal every session under the primary storage key',
    details:
      'Shows progress on stderr (a bar on a terminal) and ends with the records per storage key.\nResumable: on Ctrl-C or an error it prints a cursor; pass it back with --cursor.\nExit 130 when interrupted.',
    options: [...KEYS, 'batch-size', 'cursor'],
    args: { min: 0, max: 0 },
    run: rewrapCommand,
  },
  {
    words: ['sweep'],
    usage: 'sweep',
    summary: 'delete expired sessions (stores without native expiry)',
    details:
      'File and PostgreSQL stores keep expired records until swept; Redis expires them itself.',
    options: KEYS,
    args: { min: 0, max: 0 },
    run: sweep,
  },
  {
    words: ['revoke-subject'],
    usage: 'revoke-subject <subject>',
    summary: 'end every session of one user (e.g. after a password reset)',
    details: 'Prints how many sessions were revoked; the subject is not echoed.',
    options: KEYS,
    args: { min: 1, max: 1 },
    run: revokeSubject,
  },
  {
    words: ['stats'],
    usage: 'stats',
    summary: 'count sessions, per storage key, and expired ones not yet swept',
    details: 'Reads every record once through the store scan; decrypts nothing and needs no keys.',
    options: STORE,
    args: { min: 0, max: 0 },
    run: stats,
  },
  {
    words: ['migrate'],
    usage: 'migrate [--print]',
    summary: 'create or upgrade the PostgreSQL tables (or print the SQL)',
    details:
      'Runs the migrations against the postgres:// store, or with --print writes the SQL for a DBA\n(no connection; ?schema= and ?table= of the URL apply when given).',
    options: ['store', 'print'],
    args: { min: 0, max: 0 },
    run: migrateCommand,
  },
];

/** The command whose words start `positionals`, and the arguments after them. */
export function findCommand(
  positionals: readonly string[],
): { command: CommandDef; args: readonly string[] } | undefined {
  for (const command of COMMANDS) {
    if (command.words.every((w, i) => positionals[i] === w)) {
      return { command, args: positionals.slice(command.words.length) };
    }
  }
  return undefined;
}
