// Shared set-up for the kubelet's integration tests: a real apiserver, a kubelet on the real
// Docker engine with a per-run node name, pod network and owner label, and helpers to create
// pods bound to that node and wait for what the kubelet reports.
import { randomBytes } from "node:crypto";
import { after, before } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  freePort,
  kubectlOnPath,
  startApiserver,
  type StartApiserverOptions,
  type TestApiserver,
} from "@skiff/testing";
import { pino } from "pino";
import type { Container } from "@skiff/api";
import { hashContainer } from "../src/container-hash.js";
import { DockerRuntime } from "../src/runtime/docker.js";
import type { ContainerRuntime, PodRef } from "../src/runtime/runtime.js";
import { startKubelet, type RunningKubelet, type StartKubeletOptions } from "../src/start.js";

export const IMAGE = "skiff.local/busybox:1.36";

export interface Harness {
  api: TestApiserver;
  runtime: DockerRuntime;
  nodeName: string;
  podCIDR: string;
  rootDir: string;
  /** The kubelet's --pod-manifest-path (static pods); empty until a test writes to it. */
  manifestDir: string;
  kubelet: RunningKubelet | undefined;
  port: number;
  /** Starts the kubelet; `extra` overrides or adds options (e.g. resolvConf). */
  startKubelet(extra?: Partial<StartKubeletOptions>): Promise<RunningKubelet>;
  stopKubelet(): Promise<void>;
  createPod(
    name: string,
    spec: Record<string, unknown>,
    meta?: Record<string, unknown>,
  ): Promise<Pod>;
  /** Creates a pod of one busybox container running `command`, and waits until it runs. */
  runningPod(name: string, command: string[], containerName?: string): Promise<Pod>;
  getPod(name: string): Promise<Pod | undefined>;
  /** Runs the kubectl on PATH against the apiserver (30 s request timeout); never rejects. */
  kubectl(
    args: string[],
    stdin?: string,
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  waitPod(name: string, pred: (p: Pod) => boolean, timeoutMs?: number): Promise<Pod>;
  events(name: string): Promise<{ reason: string; message: string; type: string }[]>;
  cleanup(): Promise<void>;
}

// The JSON of a pod as tests read it (fields looked at are checked by the assertions).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Pod = any;

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}: ${String(last ?? "")}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function startHarness(apiOpts: StartApiserverOptions = {}): Promise<Harness> {
  const runId = randomBytes(4).toString("hex");
  const api = await startApiserver(apiOpts);
  const nodeName = `skiff-test-${runId}`;
  // Inside the cluster CIDR, clear of the runtime tests' 10.244.240.0/20.
  const podCIDR = `10.244.${100 + (parseInt(runId.slice(0, 2), 16) % 120)}.0/24`;
  const runtime = new DockerRuntime({
    networkName: `skiff-kt-${runId}`,
    ownerLabels: { "io.skiff.test": runId },
  });
  const rootDir = mkdtempSync(join(tmpdir(), "skiff-kubelet-"));
  const manifestDir = mkdtempSync(join(tmpdir(), "skiff-manifests-"));
  const kubectlCache = mkdtempSync(join(tmpdir(), "skiff-kubectl-cache-"));
  const port = await freePort();
  const h: Harness = {
    api,
    runtime,
    nodeName,
    podCIDR,
    rootDir,
    manifestDir,
    port,
    kubelet: undefined,
    async startKubelet(extra = {}) {
      h.kubelet = await startKubelet({
        // The kubelet runs as its node (Node authorizer and NodeRestriction), as in a cluster.
        kubeconfig: api.kubeconfigFor(`system:node:${nodeName}`, ["system:nodes"]),
        nodeName,
        nodeIP: "127.0.0.1",
        rootDir,
        port,
        bindAddress: "127.0.0.1",
        clientCAFile: join(api.certDir, "ca.crt"),
        containerRuntime: runtime,
        resyncPeriodMs: 2000,
        podManifestPath: manifestDir,
        logger: pino({ level: process.env.SKIFF_TEST_LOG ?? "silent" }),
        ...extra,
      });
      return h.kubelet;
    },
    async stopKubelet() {
      await h.kubelet?.stop();
      h.kubelet = undefined;
    },
    async createPod(name, spec, meta = {}) {
      const res = await api.request("POST", "/api/v1/namespaces/default/pods", {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, ...meta },
        spec: { nodeName, terminationGracePeriodSeconds: 2, ...spec },
      });
      if (res.status !== 201) throw new Error(`create pod ${name}: ${res.status} ${res.text}`);
      return res.json as Pod;
    },
    async runningPod(name, command, containerName = "app") {
      await h.createPod(name, { containers: [{ name: containerName, image: IMAGE, command }] });
      return h.waitPod(name, (p) => p.status?.phase === "Running");
    },
    async getPod(name) {
      const res = await api.request("GET", `/api/v1/namespaces/default/pods/${name}`);
      return res.status === 200 ? (res.json as Pod) : undefined;
    },
    async waitPod(name, pred, timeoutMs = 60_000) {
      let last: Pod;
      try {
        return await waitFor(
          `pod ${name}`,
          async () => {
            last = await h.getPod(name);
            return last && pred(last) ? last : undefined;
          },
          timeoutMs,
        );
      } catch (err) {
        throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last?.status)}`, {
          cause: err,
        });
      }
    },
    kubectl(args, stdin) {
      return kubectlOnPath(["--request-timeout=30s", ...args], {
        kubeconfig: api.kubeconfig,
        cacheDir: kubectlCache,
        stdin: stdin ?? "",
      });
    },
    async events(name) {
      const res = await api.request(
        "GET",
        `/api/v1/namespaces/default/events?fieldSelector=involvedObject.name=${name}`,
      );
      return (res.json?.items ?? []) as { reason: string; message: string; type: string }[];
    },
    async cleanup() {
      await h.stopKubelet();
      const filters = { label: [`io.skiff.test=${runId}`] };
      const containers = await runtime.docker.listContainers({ all: true, filters });
      await Promise.all(
        containers.map((c) => runtime.docker.getContainer(c.Id).remove({ force: true, v: true })),
      );
      for (const n of await runtime.docker.listNetworks({ filters })) {
        await runtime.docker.getNetwork(n.Id).remove();
      }
      await api.stop();
      rmSync(rootDir, { recursive: true, force: true });
      rmSync(manifestDir, { recursive: true, force: true });
      rmSync(kubectlCache, { recursive: true, force: true });
    },
  };
  return h;
}

/**
 * Registers, in the calling suite, a harness with a running kubelet and its podCIDR before the
 * tests and its cleanup after them; the returned function gives the harness.
 */
export function useRunningKubelet(): () => Harness {
  let h: Harness | undefined;
  before(async () => {
    h = await startHarness();
    await h.startKubelet();
    await assignPodCIDR(h);
  });
  after(async () => {
    await h?.cleanup();
  });
  return () => {
    if (!h) throw new Error("the harness is not started");
    return h;
  };
}

/** Sets the node's podCIDR as the controller-manager's IPAM would. */
export async function assignPodCIDR(h: Harness): Promise<void> {
  await waitFor("node registered", async () => {
    const res = await h.api.request("GET", `/api/v1/nodes/${h.nodeName}`);
    return res.status === 200;
  });
  const res = await h.api.request(
    "PATCH",
    `/api/v1/nodes/${h.nodeName}`,
    { spec: { podCIDR: h.podCIDR, podCIDRs: [h.podCIDR] } },
    { contentType: "application/merge-patch+json" },
  );
  if (res.status !== 200) throw new Error(`patch node: ${res.status} ${res.text}`);
}

export function containerStatus(pod: Pod, name: string): Pod {
  return [
    ...(pod.status?.containerStatuses ?? []),
    ...(pod.status?.initContainerStatuses ?? []),
  ].find((c: Pod) => c.name === name);
}

/** Creates and starts each container (attempt 0, no env or mounts) in a runtime's sandbox. */
export async function startContainers(
  rt: ContainerRuntime,
  pod: PodRef,
  sandboxId: string,
  containers: Container[],
): Promise<void> {
  for (const c of containers) {
    const id = await rt.createContainer({
      pod,
      sandboxId,
      container: c,
      attempt: 0,
      hash: hashContainer(c),
      env: [],
      mounts: [],
    });
    await rt.startContainer(id);
  }
}
