// Test harness: a real etcd + apiserver, a controller manager running chosen controllers
// against it, and a stand-in for the kubelet that reports pods Running and Ready.
import { resourceInfo, rfc3339 } from "@skiff/api";
import { RestClient, loadClientConfig, silentLogger, type ResourceClient } from "@skiff/client";
import { startApiserver, type TestApiserver } from "@skiff/testing";
import { ControllerManager, type ControllerManagerOptions } from "../src/index.js";
import type { Deployment, Namespace, Pod, ReplicaSet } from "../src/objects.js";

export interface Cluster {
  api: TestApiserver;
  client: RestClient;
  pods: ResourceClient<Pod>;
  replicaSets: ResourceClient<ReplicaSet>;
  deployments: ResourceClient<Deployment>;
  namespaces: ResourceClient<Namespace>;
  cm: ControllerManager;
  stop(): Promise<void>;
}

export async function startCluster(
  controllers: string[],
  opts: ControllerManagerOptions = {},
): Promise<Cluster> {
  const api = await startApiserver();
  const clientConfig = loadClientConfig({ kubeconfig: api.kubeconfig });
  const client = new RestClient({ ...clientConfig, qps: -1 });
  // The manager runs as system:kube-controller-manager and each controller as its own
  // ServiceAccount (--use-service-account-credentials), with only their bootstrap roles.
  const cm = new ControllerManager({
    clientConfig: loadClientConfig({
      kubeconfig: api.kubeconfigFor("system:kube-controller-manager"),
    }),
    controllers,
    leaderElect: false,
    port: -1,
    logger: silentLogger,
    resyncPeriodMs: 2_000,
    useServiceAccountCredentials: true,
    ...opts,
  });
  await cm.start();
  return {
    api,
    client,
    cm,
    pods: client.resource<Pod>(resourceInfo("", "v1", "pods")),
    replicaSets: client.resource<ReplicaSet>(resourceInfo("apps", "v1", "replicasets")),
    deployments: client.resource<Deployment>(resourceInfo("apps", "v1", "deployments")),
    namespaces: client.resource<Namespace>(resourceInfo("", "v1", "namespaces")),
    async stop() {
      await cm.stop();
      client.close();
      await api.stop();
    },
  };
}

/** Polls until `check` returns a truthy value; fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What the kubelet would report for a started pod: Running, Ready, containers running. */
export async function markPodReady(pods: ResourceClient<Pod>, pod: Pod): Promise<void> {
  const now = rfc3339();
  const next = structuredClone(pod);
  next.status = {
    phase: "Running",
    conditions: [
      { type: "Ready", status: "True", lastTransitionTime: now },
      { type: "ContainersReady", status: "True", lastTransitionTime: now },
    ],
    containerStatuses: (pod.spec?.containers ?? []).map((c) => ({
      name: c.name,
      image: c.image ?? "",
      imageID: "",
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: now } },
    })),
  } as Pod["status"];
  await pods.namespace(pod.metadata.namespace ?? "default").updateStatus(next);
}

export function podTemplate(labels: Record<string, string>, image = "nginx:1.27") {
  return {
    metadata: { labels },
    spec: { containers: [{ name: "web", image }] },
  };
}

export async function listPods(c: Cluster, ns: string, selector = ""): Promise<Pod[]> {
  return (await c.pods.namespace(ns).list({ labelSelector: selector })).items;
}

/**
 * A simulated kubelet (there is no real one in these tests): every 50 ms it marks Ready
 * each pod in `ns` that is not yet ready, unless `ready(pod)` says no. Returns a stopper.
 */
export function simulateKubelet(
  c: Cluster,
  ns: string,
  ready: (pod: Pod) => boolean = () => true,
): () => Promise<void> {
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        for (const p of await listPods(c, ns)) {
          if (p.metadata.deletionTimestamp || p.status?.phase === "Running" || !ready(p)) continue;
          await markPodReady(c.pods, p).catch(() => undefined);
        }
      } catch {
        // the apiserver may be stopping
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}
