// How a bench script ends: exit 0 when `main` settles, or print what failed
// (its stack) and exit 1, so a broken case fails the run (CI runs --quick).

/** Runs `main` and exits the process with its outcome; `name` prefixes the failure. */
export function runMain(name: string, main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(
        `${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
