// A test harness for the controllers: a real etcd + apiserver, a ControllerContext built
// from @skiff/client, and helpers to play the kubelet (pod status, node status, leases).
import { resourceInfo, type ResourceInfo } from "@skiff/api";
import {
  EventRecorder,
  RestClient,
  SharedInformerFactory,
  loadClientConfig,
  silentLogger,
  type KubeObject,
} from "@skiff/client";
import { startApiserver, type TestApiserver } from "@skiff/testing";
import type { Controller, ControllerContext } from "../src/controller.js";

export interface TestEnv {
  api: TestApiserver;
  client: RestClient;
  ctx: ControllerContext;
  /** Starts the informers and runs the controllers (one worker each) until stop. */
  run(...controllers: Controller[]): void;
  stop(): Promise<void>;
}

export async function startEnv(): Promise<TestEnv> {
  const api = await startApiserver();
  const client = new RestClient(loadClientConfig({ kubeconfig: api.kubeconfig }));
  // The controllers run as system:kube-controller-manager, with only its bootstrap roles;
  // the test itself (env.client) is the admin.
  const own = new RestClient(
    loadClientConfig({ kubeconfig: api.kubeconfigFor("system:kube-controller-manager") }),
  );
  const informers = new SharedInformerFactory(own);
  const ctx: ControllerContext = {
    client: own,
    informers,
    recorder: (component) => new EventRecorder(own, { component, logger: silentLogger }),
    log: silentLogger,
    metrics: { queue: () => ({}), sync: () => {} },
  };
  const abort = new AbortController();
  const running: Promise<void>[] = [];
  return {
    api,
    client,
    ctx,
    run(...controllers) {
      for (const c of controllers) running.push(c.run(1, abort.signal));
      informers.start();
    },
    async stop() {
      abort.abort();
      await Promise.all(running);
      informers.stop();
      own.close();
      client.close();
      await api.stop();
    },
  };
}

/** Polls `fn` until it returns a value other than undefined/false, or fails after `ms`. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}: ${String(last ?? "")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Creates an object through the client (namespaced when it has a namespace). */
export async function create<T extends KubeObject>(
  env: TestEnv,
  res: ResourceInfo,
  obj: T,
): Promise<T> {
  const rc = env.client.resource<T>(res);
  return obj.metadata.namespace ? rc.namespace(obj.metadata.namespace).create(obj) : rc.create(obj);
}

export const podsInfo = resourceInfo("", "v1", "pods");
export const nodesInfo = resourceInfo("", "v1", "nodes");
export const servicesInfo = resourceInfo("", "v1", "services");

/** A pod with one container and the given labels and container ports. */
export function makePod(
  name: string,
  labels: Record<string, string>,
  ports: { name?: string; containerPort: number }[] = [],
  extra: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels },
    spec: { containers: [{ name: "c", image: "nginx", ports }], ...extra },
  } as KubeObject;
}

/** Plays the kubelet: writes the pod's IP, phase and readiness through pods/status. */
export async function setPodStatus(
  env: TestEnv,
  name: string,
  status: { podIP?: string; ready?: boolean; phase?: string; restartCount?: number },
  namespace = "default",
): Promise<void> {
  const pods = env.client.resource(podsInfo).namespace(namespace);
  const pod = (await pods.get(name)) as KubeObject & { status?: Record<string, unknown> };
  const ready = status.ready ? "True" : "False";
  pod.status = {
    ...(pod.status ?? {}),
    phase: status.phase ?? "Running",
    ...(status.podIP ? { podIP: status.podIP, podIPs: [{ ip: status.podIP }] } : {}),
    conditions: [{ type: "Ready", status: ready }],
    containerStatuses: [
      {
        name: "c",
        ready: status.ready ?? false,
        restartCount: status.restartCount ?? 0,
        image: "nginx",
        imageID: "",
      },
    ],
  };
  await pods.updateStatus(pod);
}
