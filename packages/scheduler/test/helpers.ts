// Shared pieces of the integration tests: a real apiserver, a client, and waiting.
import { resourceInfo } from "@skiff/api";
import { RestClient, loadClientConfig, silentLogger } from "@skiff/client";
import { startApiserver, type TestApiserver } from "@skiff/testing";
import { Scheduler } from "../src/scheduler.js";
import type { Node, Pod } from "../src/types.js";

export const podsInfo = resourceInfo("", "v1", "pods");
export const nodesInfo = resourceInfo("", "v1", "nodes");
export const eventsInfo = resourceInfo("", "v1", "events");

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Env {
  api: TestApiserver;
  client: RestClient;
  createNode(node: Node): Promise<void>;
  createPod(pod: Pod): Promise<void>;
  getPod(name: string, ns?: string): Promise<Pod>;
  boundNode(name: string, ns?: string): Promise<string>;
  startScheduler(): Promise<Scheduler>;
  stop(): Promise<void>;
}

/** A real etcd and apiserver, with helpers; `stop()` ends everything started. */
export async function startEnv(): Promise<Env> {
  const api = await startApiserver();
  const client = new RestClient({ ...loadClientConfig({ kubeconfig: api.kubeconfig }), qps: -1 });
  const schedulers: Scheduler[] = [];
  const clients: RestClient[] = [];
  const pods = client.resource<Pod>(podsInfo);
  const env: Env = {
    api,
    client,
    async createNode(node) {
      const created = await client.resource<Node>(nodesInfo).create(node);
      // Like a kubelet, report capacity through the status subresource too, in case create dropped it.
      if (!created.status?.allocatable)
        await client.resource<Node>(nodesInfo).updateStatus({ ...created, status: node.status });
    },
    async createPod(pod) {
      await pods.namespace(pod.metadata.namespace ?? "default").create(pod);
    },
    getPod: (name, ns = "default") => pods.namespace(ns).get(name),
    boundNode: (name, ns = "default") =>
      waitFor(
        `pod ${ns}/${name} to be bound`,
        async () => (await pods.namespace(ns).get(name)).spec.nodeName || undefined,
      ),
    async startScheduler() {
      // The scheduler runs as system:kube-scheduler, with only its bootstrap roles.
      const own = new RestClient({
        ...loadClientConfig({ kubeconfig: api.kubeconfigFor("system:kube-scheduler") }),
        qps: -1,
      });
      clients.push(own);
      const s = new Scheduler({
        client: own,
        logger: silentLogger,
        queue: { flushIntervalMs: 100 },
      });
      schedulers.push(s);
      await s.start();
      void s.run();
      return s;
    },
    async stop() {
      for (const s of schedulers) await s.stop();
      for (const c of clients) c.close();
      client.close();
      await api.stop();
    },
  };
  return env;
}
