export { runCli } from './run-cli';
export type { CliIo, ExitCode } from './io';
export type { StoreStats } from './commands/stats';
