// Entry for `pnpm bench`: the HTTP comparison with its `--http-*` flags, or
// nothing with `--no-http`.
import { readHttpConfig } from './config';
import { type HttpResult, runHttpComparison } from './run';

export type { HttpResult } from './run';

/** Reads the `--http-*` flags and runs the HTTP comparison (its table goes to stdout, its JSON to .bench-results/http.json). */
export async function runHttpBench(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<HttpResult | undefined> {
  const config = readHttpConfig(argv, env);
  if (config === undefined) return undefined;
  log('HTTP comparison:');
  return runHttpComparison(config, log);
}
