// Helpers for the tests that use the host's own netfilter tables. One test file at a time may
// own the kernel's KUBE-* chains: the runner runs files in parallel, and two proxiers (or one's
// cleanup) would tear each other's rules down.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { exec, mustExec } from "../src/exec.js";

const dir = "/tmp/skiff-kube-proxy-kernel.lock";

function holderAlive(): boolean {
  try {
    const pid = Number(readFileSync(`${dir}/pid`, "utf8"));
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // No pid file yet (being written) counts as held; a dead pid does not.
    return (
      (e as NodeJS.ErrnoException).code === "ENOENT" ||
      (e as NodeJS.ErrnoException).code === "EPERM"
    );
  }
}

/** Waits for the kernel lock; returns its release. */
export async function lockKernel(timeoutMs = 300_000): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(`${dir}/pid`, String(process.pid));
      const release = (): void => rmSync(dir, { recursive: true, force: true });
      process.once("exit", release);
      return release;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      if (!holderAlive()) rmSync(dir, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error("kernel lock: timed out", { cause: e });
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Everything in the filter and nat tables that is not ours (Docker's chains and rules). */
export async function othersRules(): Promise<string[]> {
  const saved =
    (await mustExec(exec, "iptables-save", ["-t", "filter"])) +
    (await mustExec(exec, "iptables-save", ["-t", "nat"]));
  return saved
    .split("\n")
    .filter((l) => l && !l.startsWith("#") && !/KUBE-|SKIFF-/.test(l))
    .map((l) => l.replace(/\[\d+:\d+\]/, ""));
}

/**
 * The rules of others (Docker's) that were there before and are gone now. Rules of Docker's
 * user-defined bridges (`br-…`) are left out: other suites create and remove Docker networks
 * while these tests run, so those come and go for reasons of their own.
 */
export function othersRulesLost(before: string[], after: string[]): string[] {
  const now = new Set(after);
  return before.filter((rule) => !/\bbr-[0-9a-f]{12}\b/.test(rule) && !now.has(rule));
}
