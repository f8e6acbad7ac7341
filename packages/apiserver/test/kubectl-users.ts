// The real kubectl as users of a test apiserver: run it without blocking this process (the
// apiserver runs in it), and write kubeconfigs for bearer-token users.
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TestApiserver } from "@skiff/testing";

export function runKubectl(
  args: string[],
  kubeconfig: string,
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile("kubectl", ["--kubeconfig", kubeconfig, ...args], (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({
        code: typeof code === "number" ? code : 1,
        out: stdout.trim(),
        err: stderr.trim(),
      });
    });
  });
}

/** A kubeconfig in `dir` for a bearer-token user of `api`. */
export function tokenKubeconfigFor(api: TestApiserver, dir: string, token: string): string {
  const file = join(dir, `${token}.kubeconfig`);
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "${api.url}", certificate-authority: "${join(api.certDir, "ca.crt")}"}
users:
- name: u
  user: {token: ${token}}
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
`,
  );
  return file;
}
