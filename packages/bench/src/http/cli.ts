// The HTTP comparison alone: `npx tsx src/http/cli.ts [--quick] [--http-*]`
// from packages/bench (flags in docs/performance-http.md).
import { readHttpConfig } from './config';
import { runHttpComparison } from './run';

const config = readHttpConfig(process.argv.slice(2), process.env);
if (config === undefined) process.exit(0);
runHttpComparison(config, (line) => process.stderr.write(`${line}\n`)).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `http bench failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  },
);
