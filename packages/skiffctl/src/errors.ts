// The errors skiffctl reports: a CommandError is one line on stderr and an exit code;
// errorLine renders any error as the one line kubectl prints for it.
import { ApiError, ConnectionError, KubeconfigError } from "@skiff/client";

/** A failure to report as one line on stderr and exit with `exitCode`. */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The one line kubectl prints for an error. */
export function errorLine(e: unknown): string {
  if (e instanceof CommandError) return e.message;
  if (e instanceof ApiError) return `Error from server (${e.reason}): ${e.message}`;
  if (e instanceof ConnectionError) {
    const cause = e.cause as NodeJS.ErrnoException | undefined;
    const where = /(\d+\.\d+\.\d+\.\d+:\d+|\[[^\]]+\]:\d+)/.exec(e.message)?.[1];
    if (cause?.code === "ECONNREFUSED" && where)
      return `The connection to the server ${where} was refused - did you specify the right host or port?`;
    return `error: unable to connect to the server: ${e.message.split("\n")[0]}`;
  }
  if (e instanceof KubeconfigError) return `error: ${e.message}`;
  const msg = e instanceof Error ? e.message : String(e);
  return `error: ${msg.split("\n")[0]}`;
}
