// A child process that reports its state as JSON lines on stdout (a client library's informer
// driven from another language or Node version): the lines so far, and a wait for one that
// satisfies a check.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";

export interface JsonLinesChild<T> {
  /** Every line printed so far, parsed. */
  lines: T[];
  /** What the child printed on stderr so far. */
  stderr(): string;
  /**
   * Resolves with the first line from index `from` on (printed already or to come) for which
   * `check` holds.
   */
  waitFor(check: (line: T) => boolean, timeoutMs: number, what: string, from?: number): Promise<T>;
  stop(): Promise<void>;
}

export function spawnJsonLines<T>(command: string, args: string[]): JsonLinesChild<T> {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  const lines: T[] = [];
  let stderr = "";
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.on("exit", () => {
      exited = true;
      resolve();
    }),
  );
  const waiters = new Set<() => void>();
  const wake = () => waiters.forEach((w) => w());
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(JSON.parse(line) as T);
    wake();
  });
  child.on("exit", wake);
  return {
    lines,
    stderr: () => stderr,
    async waitFor(check, timeoutMs, what, from = 0) {
      const deadline = Date.now() + timeoutMs;
      let seen = from;
      for (;;) {
        for (; seen < lines.length; seen++) if (check(lines[seen]!)) return lines[seen]!;
        const last = JSON.stringify(lines.at(-1));
        if (exited) throw new Error(`${command} exited before ${what}: ${last}\n${stderr}`);
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${what}; last line: ${last}\n${stderr}`);
        await new Promise<void>((resolve) => {
          const done = () => {
            waiters.delete(done);
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(done, Math.max(0, Math.min(500, deadline - Date.now())));
          waiters.add(done);
        });
      }
    },
    async stop() {
      if (!exited) child.kill();
      await exit;
    },
  };
}
