// The command list the help tests walk, written out by hand so a command
// dropped from the registry fails them. `usage` is the usage line commander
// generates from the declaration: words, `[options]`, then the arguments.
export const COMMAND_USAGES = [
  { words: 'keys generate', usage: 'keys generate [options]' },
  { words: 'keys init-file', usage: 'keys init-file [options]' },
  { words: 'keys init', usage: 'keys init [options]' },
  { words: 'keys status', usage: 'keys status [options]' },
  { words: 'keys rotate', usage: 'keys rotate [options] [kind]' },
  { words: 'keys compromise', usage: 'keys compromise [options] <id>' },
  { words: 'keys disable', usage: 'keys disable [options] <id>' },
  { words: 'keys rotate-master', usage: 'keys rotate-master [options]' },
  { words: 'jwks', usage: 'jwks [options]' },
  { words: 'rewrap', usage: 'rewrap [options]' },
  { words: 'sweep', usage: 'sweep [options]' },
  { words: 'revoke-subject', usage: 'revoke-subject [options] <subject>' },
  { words: 'stats', usage: 'stats [options]' },
  { words: 'migrate', usage: 'migrate [options]' },
] as const;
