// The errors kube-proxy's own code throws. A failed sync is logged and retried by the runner
// (the next sync is a full one); an object it cannot read is logged and skipped; a bad flag
// is one line on stderr and a non-zero exit (main.ts).

/**
 * A command (iptables-restore, ip, ...) exited non-zero. Thrown by `mustExec` and the IPVS
 * device setup; the message names the command and its stderr. The sync that ran it fails and
 * is retried as a full sync, which repairs what the failed one left.
 */
export class CommandError extends Error {
  override readonly name = "CommandError";
  constructor(
    readonly command: string,
    readonly result: { code: number; stdout: string; stderr: string },
  ) {
    super(`${command} exited with ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
  }
}

/**
 * A watched Service, EndpointSlice or Endpoints object lacks what the proxiers read (a
 * Service without spec, a slice without addressType, Endpoints whose subsets are no list).
 * The apiserver validates these, so this means a broken object: the event is logged and left
 * out of the rules; retrying does not help.
 */
export class InvalidObjectError extends Error {
  override readonly name = "InvalidObjectError";
}

/**
 * A flag kube-proxy cannot run with: a bind address without a port, a duration it cannot
 * parse. Thrown at start-up; main prints the message on one line and exits non-zero.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}
