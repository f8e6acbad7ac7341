// A real etcd + apiserver for one test file, with the real kubectl pointed at it: call
// at the top level (it registers before/after hooks).
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  kubectlOnPath,
  startApiserver,
  type StartApiserverOptions,
  type TestApiserver,
} from "@skiff/testing";

export interface KubectlEnv {
  /** The apiserver (set once the before hook ran). */
  readonly api: TestApiserver;
  /** A scratch directory removed after the file's tests. */
  readonly dir: string;
  kubectl(args: string[], stdin?: string): ReturnType<typeof kubectlOnPath>;
  /** kubectl that must succeed; its stdout. */
  ok(args: string[], stdin?: string): Promise<string>;
}

export function useKubectlEnv(
  name: string,
  opts: (dir: string) => StartApiserverOptions = () => ({}),
): KubectlEnv {
  const dir = mkdtempSync(join(tmpdir(), `skiff-${name}-`));
  let api: TestApiserver | undefined;
  before(async () => {
    api = await startApiserver(opts(dir));
  });
  after(async () => {
    await api?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const env: KubectlEnv = {
    get api() {
      if (!api) throw new Error("the apiserver is not started yet");
      return api;
    },
    dir,
    kubectl: (args, stdin) =>
      kubectlOnPath(args, { kubeconfig: env.api.kubeconfig, cacheDir: join(dir, "cache"), stdin }),
    async ok(args, stdin) {
      const r = await env.kubectl(args, stdin);
      assert.equal(r.code, 0, `kubectl ${args.join(" ")} failed:\n${r.stderr}\n${r.stdout}`);
      return r.stdout;
    },
  };
  return env;
}
