// The `kubernetes` Service's endpoints with several apiservers (kube-apiserver's "lease"
// endpoint reconciler): every apiserver keeps a short-lived key /registry/masterleases/<ip> in
// etcd, renewed every 10 s with a 15 s TTL, and writes the Endpoints and EndpointSlice of
// `default/kubernetes` to the addresses whose keys are alive. An apiserver that stops removes
// its key; one that dies drops out when its key expires.
import type { Logger } from "pino";
import { KeyExistsError, RevisionConflictError, type Storage } from "./storage.js";
import type { Registry } from "./registry.js";
import type { KubeObject } from "./objects.js";

const PREFIX = "/registry/masterleases/";
/** How long an apiserver's key outlives its last renewal (Kubernetes: --master-lease-ttl? 15 s). */
export const MASTER_LEASE_TTL_SECONDS = 15;
/** How often each apiserver renews its key and reconciles (Kubernetes: 10 s). */
export const MASTER_LEASE_RENEW_MS = 10_000;

export class MasterLeases {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly storage: Storage,
    private readonly endpoints: Registry,
    private readonly slices: Registry,
    private readonly self: { ip: string; port: number },
    private readonly log: Logger,
    private readonly renewMs = MASTER_LEASE_RENEW_MS,
  ) {}

  /** Renews this apiserver's key and reconciles now, then every renewMs. */
  async start(): Promise<void> {
    await this.renewAndReconcile();
    this.timer = setInterval(() => {
      this.renewAndReconcile().catch((err: unknown) =>
        this.log.warn({ err: (err as Error).message }, "kubernetes endpoints: reconcile failed"),
      );
    }, this.renewMs);
    this.timer.unref();
  }

  /** Removes this apiserver from the endpoints (a graceful stop). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    try {
      const key = PREFIX + this.self.ip;
      const cur = await this.storage.get(key);
      if (cur) await this.storage.delete(key, cur.modRevision);
      await this.reconcile();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, "kubernetes endpoints: could not leave");
    }
  }

  private async renewAndReconcile(): Promise<void> {
    const key = PREFIX + this.self.ip;
    const value = { ip: this.self.ip, port: this.self.port };
    const opts = { ttlSeconds: MASTER_LEASE_TTL_SECONDS };
    // Apiservers that share an IP (several on one host) share the key, so another may create,
    // renew or remove it between the read and the write: read again and retry, as Kubernetes'
    // GuaranteedUpdate does.
    for (let attempt = 1; ; attempt++) {
      const cur = await this.storage.get(key);
      try {
        if (cur) await this.storage.update(key, value, cur.modRevision, undefined, opts);
        else await this.storage.create(key, value, undefined, opts);
        break;
      } catch (err) {
        const raced = err instanceof KeyExistsError || err instanceof RevisionConflictError;
        if (!raced || attempt === 5) throw err;
      }
    }
    await this.reconcile();
  }

  /** Writes the live apiservers' addresses, sorted, where they differ from what is stored. */
  private async reconcile(): Promise<void> {
    const ips = (await this.storage.listKeys(PREFIX)).map((k) => k.slice(PREFIX.length)).sort();
    const port = this.self.port;
    const endpoints = {
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: {
        name: "kubernetes",
        namespace: "default",
        labels: { "endpointslice.kubernetes.io/skip-mirror": "true" },
      },
      subsets: ips.length
        ? [
            {
              addresses: ips.map((ip) => ({ ip })),
              ports: [{ name: "https", port, protocol: "TCP" }],
            },
          ]
        : [],
    };
    const slice = {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: "kubernetes",
        namespace: "default",
        labels: { "kubernetes.io/service-name": "kubernetes" },
      },
      addressType: "IPv4",
      endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
      ports: [{ name: "https", port, protocol: "TCP" }],
    };
    for (const [registry, desired] of [
      [this.endpoints, endpoints],
      [this.slices, slice],
    ] as const) {
      const current = await registry.get("default", "kubernetes").catch(() => undefined);
      if (current && sameContent(current, desired)) continue; // a renewal, nothing changed
      await registry.update(
        "default",
        "kubernetes",
        (cur) => {
          const next: KubeObject = structuredClone(desired);
          next.metadata = { ...cur.metadata, labels: desired.metadata.labels };
          return next;
        },
        { create: () => structuredClone(desired) },
      );
    }
  }
}

/** The object's content apart from metadata, and its labels, are what is wanted. */
function sameContent(current: KubeObject, desired: { metadata: { labels: object } }): boolean {
  const { metadata: have, ...haveRest } = current;
  const { metadata: want, ...wantRest } = desired;
  const labels = (m: unknown) => JSON.stringify((m as { labels?: unknown } | undefined)?.labels);
  return JSON.stringify(haveRest) === JSON.stringify(wantRest) && labels(have) === labels(want);
}
