// Errors the command line raises itself. Core errors (CloakroomError) pass
// through as failures; these add the usage/failure split for the exit code.

/** The invocation is wrong (unknown command or option, bad value, missing configuration): exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The command ran and failed for a reason the operator can act on: exit 1. */
export class CliFailure extends Error {
  override readonly name = 'CliFailure';
}
