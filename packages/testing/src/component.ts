import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Runs a component's `src/main.ts` to its exit (for command-line tests), 30 s at most. */
export function runComponent(main: URL, args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(
    process.execPath,
    ["--conditions=source", "--import", "tsx", main.pathname, ...args],
    { encoding: "utf8", timeout: 30_000 },
  );
  return { status: r.status, stderr: r.stderr };
}

/** A kubeconfig file that names no current context: every client refuses to start from it. */
export function kubeconfigWithoutContext(): string {
  const file = join(mkdtempSync(join(tmpdir(), "skiff-kubeconfig-")), "kubeconfig");
  writeFileSync(file, "apiVersion: v1\nkind: Config\nclusters: []\n");
  return file;
}
