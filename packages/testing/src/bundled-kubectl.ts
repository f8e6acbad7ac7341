// Runs one of the bundled kubectls (kubectl.1.NN beside the dispatcher on PATH) directly,
// so a test picks the client version instead of the server's reported one choosing it.
import { execFile, execFileSync } from "node:child_process";
import { realpathSync } from "node:fs";
import { dirname, join } from "node:path";

export const kubectlDir = dirname(
  realpathSync(execFileSync("bash", ["-c", "command -v kubectl"]).toString().trim()),
);

export const KUBECTL_VERSIONS = ["1.27", "1.28", "1.29", "1.30", "1.31", "1.32", "1.33"];

export interface KubectlResult {
  code: number;
  out: string;
  err: string;
}

export function runKubectl(
  version: string,
  args: string[],
  opts: { kubeconfig: string; cacheDir: string; stdin?: string },
): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      join(kubectlDir, `kubectl.${version}`),
      [`--cache-dir=${opts.cacheDir}`, ...args],
      { env: { ...process.env, KUBECONFIG: opts.kubeconfig }, timeout: 60_000 },
      (err, out, e) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out, err: e }),
    );
    if (opts.stdin !== undefined) child.stdin!.end(opts.stdin);
  });
}

/**
 * Runs the kubectl on PATH (the dispatcher, which picks the version by the server's), or
 * the given binary.
 */
export function kubectlOnPath(
  args: string[],
  opts: { kubeconfig: string; cacheDir: string; stdin?: string; binary?: string },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      opts.binary ?? "kubectl",
      [`--cache-dir=${opts.cacheDir}`, ...args],
      { env: { ...process.env, KUBECONFIG: opts.kubeconfig }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
      },
    );
    if (opts.stdin !== undefined) child.stdin!.end(opts.stdin);
  });
}
