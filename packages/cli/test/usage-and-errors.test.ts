import { describe, expect, it } from 'vitest';
import { version } from '../package.json';
import { COMMANDS } from '../src/commands/registry';
import { OPTIONS } from '../src/options';
import { COMMAND_USAGES } from './command-list';
import { allOutput, cli } from './run-helper';

const SECRET = 'c2VjcmV0LXNob3VsZC1uZXZlci1hcHBlYXItYW55d2hlcmU';

describe('cloakroom --help', () => {
  it('cloakroom --help (and no-argument `help`) lists every command, exit 0', async () => {
    for (const argv of [['--help'], ['-h'], ['help']]) {
      const r = await cli(argv);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^cloakroom: operate/);
      for (const words of COMMAND_USAGES.map((u) => u.words)) expect(r.stdout).toContain(words);
    }
  });

  it.each(COMMAND_USAGES)(
    '`cloakroom $words --help` shows its usage and options',
    async ({ words, usage }) => {
      const r = await cli([...words.split(' '), '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout.startsWith(`Usage: cloakroom ${usage}\n`)).toBe(true);
      expect(r.stdout).toContain('--json');
      // Generated from the one declaration: every option the command takes,
      // with its placeholder and the start of its description.
      const def = COMMANDS.find((c) => c.words.join(' ') === words);
      for (const name of def?.options ?? []) {
        const spec: { value?: string; description: string } = OPTIONS[name];
        const flags = spec.value === undefined ? `--${name}` : `--${name} <${spec.value}>`;
        expect(r.stdout).toContain(flags);
        expect(r.stdout.replace(/\s+/g, ' ')).toContain(spec.description);
      }
      const viaHelp = await cli(['help', ...words.split(' ')]);
      expect(viaHelp.stdout).toBe(r.stdout);
    },
  );

  it('help works even with store and key configuration missing or broken', async () => {
    const r = await cli(['rewrap', '--help'], { CLOAKROOM_STORE_URL: 'nonsense' });
    expect(r.code).toBe(0);
  });

  it('`cloakroom keys` alone is a usage error; `cloakroom keys --help` lists the subcommands', async () => {
    const bare = await cli(['keys']);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/needs a subcommand/);
    const help = await cli(['keys', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/keys rotate-master/);
  });
});

describe('cloakroom --version and suggestions', () => {
  it('--version and -V print the package version, exit 0, whatever else is configured', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await cli([flag], { CLOAKROOM_STORE_URL: 'nonsense' });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
    }
  });

  it.each([
    [['rewrp'], 'unknown command "rewrp" (did you mean rewrap?)'],
    [['stast'], 'unknown command "stast" (did you mean stats?)'],
    [['rotate', 'storage'], 'unknown command "rotate" (did you mean keys rotate?)'],
    [['keys', 'rotat'], 'unknown command "keys rotat" (did you mean keys rotate?)'],
    [['help', 'jwsk'], 'unknown command "jwsk" (did you mean jwks?)'],
    [['stats', '--jsn'], 'unknown option --jsn (did you mean --json?)'],
    [['rewrap', '--bach-size', '3'], 'unknown option --bach-size (did you mean --batch-size?)'],
    [['rewrap', '--crusor=abc'], 'unknown option --crusor (did you mean --cursor?)'],
    [['stats', '--zzzzzz'], 'unknown option --zzzzzz'],
  ] as const)('%j suggests the nearest declared name', async (argv, message) => {
    const r = await cli(argv);
    expect(r.code).toBe(2);
    expect(r.stderr.startsWith(`error: ${message}`)).toBe(true);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a mistyped option with a secret value is suggested without echoing the value', async () => {
    const r = await cli(['keys', 'status', `--keys-fil=${SECRET}`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option --keys-fil \(did you mean --keys-file\?\)/);
    expect(allOutput(r)).not.toContain(SECRET);
  });

  it('`--json` after `--` is an argument, not the output mode', async () => {
    // revoke-subject's subject is "--json"; with no store configured the
    // error must be the text line, not JSON.
    const r = await cli(['revoke-subject', '--', '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: no store: give --store URL or set CLOAKROOM_STORE_URL\n');
    const json = await cli(['revoke-subject', '--json', '--', '--json']);
    expect(JSON.parse(json.stderr)).toMatchObject({ error: { code: 'ERR_USAGE' } });
  });

  it('durations and choices are checked from their declaration, naming what is accepted', async () => {
    const bad = await cli(['keys', 'rotate', '--storage-publish-ahead', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--storage-publish-ahead must be a positive duration such as 90s/);
    const alg = await cli(['keys', 'init-file', '--alg', 'HS256']);
    expect(alg.code).toBe(2);
    expect(alg.stderr).toBe('error: --alg must be one of EdDSA, ES256, PS256, RS256\n');
  });
});

describe('cloakroom usage errors (exit 2)', () => {
  it.each([
    [['frobnicate'], /unknown command "frobnicate"/],
    [[], /no command given/],
    [['jwks', '--batch-size', '3'], /cloakroom jwks does not take --batch-size/],
    [['stats', '--frobnicate'], /unknown option --frobnicate/],
    [['revoke-subject'], /usage: cloakroom revoke-subject <subject>/],
    [['keys', 'rotate', 'everything'], /keys rotate takes signing or storage/],
    [['rewrap', '--batch-size', '0'], /--batch-size must be an integer from 1 to 100000/],
    [['rewrap', '--batch-size'], /--batch-size needs a value/],
    [['stats', '--json=yes'], /--json takes no value/],
  ] as const)('%j', async (argv, message) => {
    const r = await cli(argv, { CLOAKROOM_STORE_URL: 'file:///nonexistent-cloakroom-dir' });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it.each([
    ['--master-key', 'CLOAKROOM_MASTER_KEY'],
    ['--new-master-key', 'CLOAKROOM_NEW_MASTER_KEY'],
    ['--storage-key', 'keys file'],
    ['--password', 'CLOAKROOM_STORE_URL'],
    ['--secret', 'environment variable'],
  ])(
    '%s is refused in both spellings, explaining shell history, never echoing the value',
    async (flag, instead) => {
      for (const argv of [
        ['jwks', `${flag}=${SECRET}`],
        ['jwks', flag, SECRET],
        [flag, SECRET, 'rewrap'],
      ]) {
        const r = await cli(argv);
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/shell history/);
        expect(r.stderr).toContain(instead);
        expect(allOutput(r)).not.toContain(SECRET);
      }
    },
  );

  it('an unknown option never echoes its value', async () => {
    const r = await cli(['stats', `--api-token-value=${SECRET}`]);
    expect(r.code).toBe(2);
    expect(allOutput(r)).not.toContain(SECRET);
  });

  it('no store configured', async () => {
    const r = await cli(['stats']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('error: no store: give --store URL or set CLOAKROOM_STORE_URL\n');
  });

  it.each([
    ['http://example.com/x', /unsupported store URL scheme "http:"/],
    ['not a url', /not a valid URL/],
    ['file://host/var/lib/x', /must be local/],
    ['redis+cluster://nohostport', /host:port/],
    ['redis://127.0.0.1:6379?prefx=a', /unknown parameter \?prefx=/],
    ['mysql://root:hunter2hunter2@db/x', /unsupported store URL scheme "mysql:"/],
  ])('bad store URL %s', async (url, message) => {
    const r = await cli(['stats'], { CLOAKROOM_STORE_URL: url });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(allOutput(r)).not.toContain('hunter2');
  });

  it('a password in --store is refused (shell history); the password never appears', async () => {
    const r = await cli(['stats', '--store', `postgres://app:${SECRET}@127.0.0.1:1/db`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/CLOAKROOM_STORE_URL/);
    expect(allOutput(r)).not.toContain(SECRET);
  });

  it('missing key configuration names both ways to give keys', async () => {
    const r = await cli(['jwks', '--store', 'file:///tmp']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/CLOAKROOM_MASTER_KEY.*CLOAKROOM_KEYS_FILE/);
  });

  it('--json errors are one JSON object on stderr with a code', async () => {
    const r = await cli(['frobnicate', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr)).toEqual({
      error: { code: 'ERR_USAGE', message: expect.stringMatching(/unknown command/) },
    });
  });
});

describe('cloakroom unreachable stores (exit 1, StoreUnavailable)', () => {
  it.each([
    ['redis', `redis://:${SECRET}@127.0.0.1:1`],
    ['postgres', `postgres://postgres:${SECRET}@127.0.0.1:1/test`],
  ])(
    '%s: one line, no password, no stack unless --debug',
    async (_name, url) => {
      const env = { CLOAKROOM_STORE_URL: url };
      const r = await cli(['stats'], env);
      expect(r.code).toBe(1);
      // The store is named (host and port, never the password) with the
      // driver's errno code, which ioredis only reports as an event.
      expect(r.stderr).toMatch(
        /^error: .*\((redis|postgres) 127\.0\.0\.1:1(\/test)?, ECONNREFUSED: is the store reachable\?/,
      );
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(allOutput(r)).not.toContain(SECRET);
      const json = await cli(['stats', '--json'], env);
      expect(JSON.parse(json.stderr).error.code).toBe('ERR_STORE_UNAVAILABLE');
      const debug = await cli(['stats', '--debug'], env);
      expect(debug.code).toBe(1);
      expect(debug.stderr).toMatch(/\n\s+at /);
      expect(allOutput(debug)).not.toContain(SECRET);
    },
    30_000,
  );
});
