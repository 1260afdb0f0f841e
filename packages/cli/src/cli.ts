// The `cloakroom` bin: wires the process to runCli. While rewrap runs its
// batches, the first Ctrl-C stops it after the current one (it then prints
// what is left and how to resume) and a second one exits at once; any other
// command, or rewrap's counting passes, exits at the first Ctrl-C.
import { runCli } from './run-cli';

const controller = new AbortController();
let graceful = false;
process.on('SIGINT', () => {
  if (!graceful || controller.signal.aborted) process.exit(130);
  controller.abort();
  process.stderr.write('\nstopping after the current batch (Ctrl-C again to quit now)\n');
});

// `cloakroom stats | head` closes stdout early: that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  stderrIsTTY: process.stderr.isTTY === true,
  ...(process.stderr.columns === undefined ? {} : { columns: process.stderr.columns }),
  signal: controller.signal,
  onInterruptible: (yes) => {
    graceful = yes;
  },
});
process.exitCode = code;
