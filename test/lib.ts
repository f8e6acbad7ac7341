// What the end-to-end suites share: running a program as a user would, and waiting for a
// condition with a deadline.
import { execFile } from "node:child_process";
import { request } from "node:http";

export interface Ran {
  code: number;
  out: string;
  err: string;
}

/** Runs a program to its end (2 minutes at most); never throws. */
export function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  input?: string,
): Promise<Ran> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { env, timeout: 120_000, maxBuffer: 16 << 20 },
      (err, out, errOut) => {
        resolve({
          code: err ? Number((err as { code?: number }).code ?? 1) || 1 : 0,
          out,
          err: errOut,
        });
      },
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** Calls fn every 500 ms until it returns something truthy; throws after ms. */
export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    const v = await fn().catch((err: unknown) => {
      last = err;
      return undefined;
    });
    if (v) return v;
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `: ${last.message}` : "";
      throw new Error(`timed out after ${ms / 1000} s waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * GET http://host:port/path from the test process; resolves with the body of a 200 answer.
 * Lenient about header lines ending in a bare LF, as curl and Go's client are (busybox
 * httpd's CGI answers end them so).
 */
export function httpGet(host: string, port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const options = { host, port, path, timeout: 3000, agent: false, insecureHTTPParser: true };
    const req = request(options, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () =>
        res.statusCode === 200
          ? resolve(body.trim())
          : reject(new Error(`GET http://${host}:${port}${path}: HTTP ${res.statusCode}`)),
      );
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end();
  });
}
