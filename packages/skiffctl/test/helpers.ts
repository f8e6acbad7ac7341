// Shared by the skiffctl tests: run skiffctl in-process or the real kubectl against the same
// test apiserver, and normalize AGE values before comparing their output.
import { execFile } from "node:child_process";
import { after, before } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { startApiserver, type TestApiserver } from "@skiff/testing";
import { run } from "../src/main.js";

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** A HOME of its own, so tests never read or write the user's ~/.kube. */
export function tempHome(): { home: string; cleanup: () => void } {
  const home = mkdtempSync(join(tmpdir(), "skiffctl-home-"));
  return { home, cleanup: () => rmSync(home, { recursive: true, force: true }) };
}

/**
 * A test file's apiserver (started before its tests, stopped after) and HOME, with `sk` and
 * `skIn` running skiffctl against them (`skIn` with stdin). The env's fields are set once
 * `before` has run.
 */
export function useApiserver(): {
  env: { api: TestApiserver; home: string };
  sk: (...args: string[]) => Promise<Result>;
  skIn: (stdin: string, ...args: string[]) => Promise<Result>;
} {
  const env = {} as { api: TestApiserver; home: string };
  let home: ReturnType<typeof tempHome> | undefined;
  before(async () => {
    env.api = await startApiserver();
    home = tempHome();
    env.home = home.home;
  });
  after(async () => {
    await env.api?.stop();
    home?.cleanup();
  });
  return {
    env,
    sk: (...args) => skiffctl(env.api.kubeconfig, env.home, args),
    skIn: (stdin, ...args) => skiffctl(env.api.kubeconfig, env.home, args, { stdin }),
  };
}

export async function skiffctl(
  kubeconfig: string,
  home: string,
  args: string[],
  opts: {
    stdin?: string;
    signal?: AbortSignal;
    env?: Record<string, string>;
    /** Called with all stdout so far after each write (to follow `get -w` as it runs). */
    onStdout?: (stdout: string) => void;
  } = {},
): Promise<Result> {
  let stdout = "";
  let stderr = "";
  const decode = (s: string | Uint8Array): string =>
    typeof s === "string" ? s : Buffer.from(s).toString("utf8");
  const code = await run(args, {
    stdout: {
      write: (s) => {
        stdout += decode(s);
        opts.onStdout?.(stdout);
      },
    },
    stderr: { write: (s) => (stderr += decode(s)) },
    stdin: Readable.from([opts.stdin ?? ""]),
    env: { KUBECONFIG: kubeconfig, HOME: home, ...opts.env },
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  return { code, stdout, stderr };
}

export function kubectl(kubeconfig: string, home: string, args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      "kubectl",
      [`--cache-dir=${join(home, "cache")}`, ...args],
      { env: { ...process.env, KUBECONFIG: kubeconfig, HOME: home }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (err as { code?: unknown }).code : 0;
        resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
      },
    );
  });
}

/** Table text with ages ("5s", "2m3s") replaced and runs of spaces collapsed. */
export function withoutAges(text: string): string[] {
  return text.split("\n").map((line) =>
    line
      .split(/\s{2,}/)
      .map((cell) => (/^\d+(s|m|h|d|y)(\d+(s|m|h))?$/.test(cell.trim()) ? "<age>" : cell.trim()))
      .join(" | "),
  );
}

/** Resolves once `check` holds, polling every 50 ms; fails naming `what` after `ms`. */
export async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
