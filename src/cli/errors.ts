// Errors the CLI reports as one line. Anything else is a bug and is reported as an internal error.
export class UsageError extends Error {}
