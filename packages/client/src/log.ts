// The logger the client writes to: a subset of pino's interface, so a pino logger fits.

export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

function line(level: string) {
  return (obj: object, msg: string) => {
    const fields = Object.fromEntries(
      Object.entries(obj).map(([k, v]) => [k, v instanceof Error ? v.message : v]),
    );
    process.stderr.write(JSON.stringify({ level, time: Date.now(), msg, ...fields }) + "\n");
  };
}

/** Writes warnings and errors to stderr as JSON lines; drops debug and info. */
export const defaultLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: line("warn"),
  error: line("error"),
};

/** Drops everything (tests). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
