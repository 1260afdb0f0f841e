// Every command: its words, the options it accepts, and its help text.
import type { OptionName } from '../options';
import type { CommandContext } from '../context';
import type { ExitCode } from '../io';
import { keysGenerate } from './keys-generate';
import { keysInitFile } from './keys-init-file';
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

/** A positional argument of a command. */
export interface ArgumentDef {
  readonly name: string;
  readonly required: boolean;
  readonly description: string;
}

/**
 * One command of the CLI: its words, positional arguments, the options it
 * takes (declared in `OPTIONS`) and its help text. The parser, the usage
 * line and the help are all generated from this.
 */
export interface CommandDef {
  readonly words: readonly string[];
  readonly summary: string;
  readonly details: string;
  readonly options: readonly OptionName[];
  readonly args: readonly ArgumentDef[];
  run(ctx: CommandContext): Promise<ExitCode>;
}

const STORE: readonly OptionName[] = ['store'];
const KEYS: readonly OptionName[] = ['store', 'keys-file', 'master-key-file', 'key-set'];
const ROTATING: readonly OptionName[] = ['store', 'master-key-file', 'key-set'];
// The application's rotation timings: the CLI writes the key set with them.
const SCHEDULE: readonly OptionName[] = [
  'refresh-every',
  'signing-rotate-every',
  'signing-publish-ahead',
  'signing-retire-after',
  'storage-rotate-every',
  'storage-publish-ahead',
  'storage-retain-for',
];

/** The commands, in help order. */
export const COMMANDS: readonly CommandDef[] = [
  {
    words: ['keys', 'generate'],
    summary: 'generate a signing key (private JWK) or a 256-bit secret',
    details:
      'Prints the new key on stdout, or writes it to --out FILE with mode 0600 (never overwriting).\n--kind signing (default) makes a private JWK (--alg, default EdDSA); storage, index and\nmaster make 32 random bytes, base64url.',
    options: ['kind', 'alg', 'out'],
    args: [],
    run: keysGenerate,
  },
  {
    words: ['keys', 'init-file'],
    summary: 'write a complete static keys file (signing, storage and index keys)',
    details:
      'Writes the JSON that CLOAKROOM_KEYS_FILE / --keys-file and staticKeys() read: one private\nsigning JWK (--alg), one storage key with an id, and the index key, all new. With --out\nthe file is created with mode 0600 and never overwritten; without it the JSON goes to stdout.',
    options: ['alg', 'out'],
    args: [],
    run: keysInitFile,
  },
  {
    words: ['keys', 'init'],
    summary: 'create the rotating key set in the store (once)',
    details:
      'Creates the key set sealed under the master key when the store has none, then shows it.\nOther commands refuse to run without an existing key set, so a mistyped store URL or\nprefix never starts a new one.',
    options: ROTATING,
    args: [],
    run: keysInit,
  },
  {
    words: ['keys', 'status'],
    summary: 'show key ids, states and dates (never key material)',
    details:
      'Rotating key set: every signing and storage key with its state. Static keys: their ids.',
    options: KEYS,
    args: [],
    run: keysStatus,
  },
  {
    words: ['keys', 'rotate'],
    summary: 'start a rotation: a new pending key that becomes primary after its publish window',
    details:
      "Without a kind, rotates both. When a successor is already pending, that one is kept.\nGive the timings your application configures in rotatingKeys (the defaults are core's);\n--alg picks the new signing key's algorithm. After a storage rotation has taken effect,\nrun `cloakroom rewrap`.",
    options: [...ROTATING, 'alg', ...SCHEDULE],
    args: [
      { name: 'kind', required: false, description: 'signing or storage (both when omitted)' },
    ],
    run: keysRotate,
  },
  {
    words: ['keys', 'compromise'],
    summary: 'disable a leaked signing or storage key at once',
    details:
      'Tokens signed and sessions sealed under the key stop working at once; a primary key is\nreplaced at once (the retire/retain timings apply to it). Use `keys status` to find the id.',
    options: [...ROTATING, ...SCHEDULE],
    args: [
      {
        name: 'id',
        required: true,
        description: 'a kid or storage key id, as `keys status` shows',
      },
    ],
    run: keysCompromise,
  },
  {
    words: ['keys', 'disable'],
    summary: 'disable a retired key (e.g. the old storage key once rewrap left it no records)',
    details:
      'Routine retirement: refuses the primary key. Check with `cloakroom stats` that no\nrecords remain under a storage key before disabling it: they would stop opening.',
    options: ROTATING,
    args: [
      {
        name: 'id',
        required: true,
        description: 'a kid or storage key id, as `keys status` shows',
      },
    ],
    run: keysDisable,
  },
  {
    words: ['keys', 'rotate-master'],
    summary: 're-seal the key set under a new master key',
    details:
      'The new master key comes from CLOAKROOM_NEW_MASTER_KEY or --new-master-key-file FILE.\nKeys and sessions are unchanged; every instance needs the new master key afterwards.',
    options: [...ROTATING, 'new-master-key-file'],
    args: [],
    run: keysRotateMaster,
  },
  {
    words: ['jwks'],
    summary: 'print the public signing keys as a JWKS',
    details:
      'The document to serve at /.well-known/jwks.json. Always JSON. With a keys file no store\nis needed; a rotating key set is read from the store.',
    options: KEYS,
    args: [],
    run: jwks,
  },
  {
    words: ['rewrap'],
    summary: 're-seal every session under the primary storage key',
    details:
      'Counts the records first, then shows progress on stderr (a bar with elapsed time and ETA\non a terminal, one line per batch otherwise, JSON lines with --json). A complete run ends\nwith the records per storage key. Ctrl-C stops after the current batch (exit 130); an\ninterrupted or resumed run says so on stdout, counts the whole store per storage key, and\nprints the command that resumes it, with the flags the run was started with.',
    options: [...KEYS, 'batch-size', 'cursor'],
    args: [],
    run: rewrapCommand,
  },
  {
    words: ['sweep'],
    summary: 'delete expired sessions (stores without native expiry)',
    details:
      'File and PostgreSQL stores keep expired records until swept; Redis expires them itself.',
    options: KEYS,
    args: [],
    run: sweep,
  },
  {
    words: ['revoke-subject'],
    summary: 'end every session of one user (e.g. after a password reset)',
    details: 'Prints how many sessions were revoked; the subject is not echoed.',
    options: KEYS,
    args: [{ name: 'subject', required: true, description: 'the user id (not echoed)' }],
    run: revokeSubject,
  },
  {
    words: ['stats'],
    summary: 'count sessions, per storage key, and expired ones not yet swept',
    details: 'Reads every record once through the store scan; decrypts nothing and needs no keys.',
    options: STORE,
    args: [],
    run: stats,
  },
  {
    words: ['migrate'],
    summary: 'create or upgrade the PostgreSQL tables (or print the SQL)',
    details:
      'Runs the migrations against the postgres:// store, or with --print writes the SQL for a DBA\n(no connection; ?schema= and ?table= of the URL apply when given).',
    options: ['store', 'print'],
    args: [],
    run: migrateCommand,
  },
];
