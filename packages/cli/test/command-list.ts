// The command list the help tests walk, written out by hand so a command
// dropped from the registry fails them.
export const COMMAND_USAGES = [
  {
    words: 'keys generate',
    usage:
      'keys generate [--kind signing|storage|index|master] [--alg EdDSA|ES256|PS256|RS256] [--out FILE]',
  },
  { words: 'keys init', usage: 'keys init' },
  { words: 'keys status', usage: 'keys status' },
  { words: 'keys rotate', usage: 'keys rotate [signing|storage]' },
  { words: 'keys compromise', usage: 'keys compromise <id>' },
  { words: 'keys disable', usage: 'keys disable <id>' },
  { words: 'keys rotate-master', usage: 'keys rotate-master' },
  { words: 'jwks', usage: 'jwks' },
  { words: 'rewrap', usage: 'rewrap [--batch-size N] [--cursor CURSOR]' },
  { words: 'sweep', usage: 'sweep' },
  { words: 'revoke-subject', usage: 'revoke-subject <subject>' },
  { words: 'stats', usage: 'stats' },
  { words: 'migrate', usage: 'migrate [--print]' },
] as const;
