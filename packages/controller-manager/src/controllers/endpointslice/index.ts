// The EndpointSlice controller: mirrors each selecting Service's pods into
// discovery.k8s.io/v1 EndpointSlices, one group of slices per distinct port mapping and
// at most `maxEndpointsPerSlice` endpoints in each.
import { isDeepStrictEqual } from "node:util";
import {
  isPodReady,
  resourceInfo,
  type DiscoveryEndpointPort,
  type Endpoint,
} from "@skiff/api/light";
import type { EndpointSlice, Pod, Service } from "../../objects.js";
import { isNotFound, splitMetaNamespaceKey } from "@skiff/client";
import type { Lister, ResourceClient, SharedInformer, WorkQueue } from "@skiff/client";
import {
  enqueueHandler,
  newControllerRef,
  newQueue,
  QueueController,
  type ControllerConstructor,
  type ControllerContext,
} from "../../controller.js";
import {
  endpointPodFields,
  resolvePorts,
  serviceSelector,
  servicePods,
  servicesForPod,
} from "../endpoints/pods.js";

export const serviceNameLabel = "kubernetes.io/service-name";
export const managedByLabel = "endpointslice.kubernetes.io/managed-by";
export const controllerName = "endpointslice-controller.k8s.io";
export const maxEndpointsPerSlice = 100;

/** The desired slices' content (no names): endpoints grouped by resolved ports, chunked. */
export function desiredSlices(
  svc: Service,
  pods: Pod[],
  maxPerSlice = maxEndpointsPerSlice,
): { ports: DiscoveryEndpointPort[]; endpoints: Endpoint[] }[] {
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const groups = new Map<string, { ports: DiscoveryEndpointPort[]; endpoints: Endpoint[] }>();
  const svcPorts = svc.spec?.ports ?? [];
  for (const pod of pods) {
    const ports: DiscoveryEndpointPort[] = resolvePorts(svc, pod);
    if (ports.length === 0 && svcPorts.length > 0) continue;
    const terminating = !!pod.metadata.deletionTimestamp;
    const serving = isPodReady(pod);
    const endpoint: Endpoint = {
      addresses: [pod.status!.podIP!],
      conditions: { ready: publishNotReady || (serving && !terminating), serving, terminating },
      ...endpointPodFields(svc, pod),
    };
    const signature = JSON.stringify(ports);
    let group = groups.get(signature);
    if (!group) groups.set(signature, (group = { ports, endpoints: [] }));
    group.endpoints.push(endpoint);
  }
  // A Service that selects no pods still gets one empty slice, as in Kubernetes.
  if (groups.size === 0) {
    const ports = svcPorts
      .filter((sp) => typeof sp.targetPort !== "string" || /^\d+$/.test(sp.targetPort))
      .map((sp) => ({
        name: sp.name ?? "",
        port: Number(sp.targetPort ?? sp.port),
        protocol: sp.protocol ?? "TCP",
      }));
    return [{ ports, endpoints: [] }];
  }
  const slices: { ports: DiscoveryEndpointPort[]; endpoints: Endpoint[] }[] = [];
  for (const g of groups.values()) {
    for (let i = 0; i < g.endpoints.length; i += maxPerSlice) {
      slices.push({ ports: g.ports, endpoints: g.endpoints.slice(i, i + maxPerSlice) });
    }
  }
  return slices;
}

export class EndpointSliceController extends QueueController {
  readonly name = "endpointslice";
  readonly queue: WorkQueue<string>;
  private readonly services: Lister<Service>;
  private readonly pods: Lister<Pod>;
  private readonly slices: SharedInformer<EndpointSlice>;
  private readonly informers: SharedInformer[];
  private readonly slicesClient: ResourceClient<EndpointSlice>;
  /** Slices we created but our cache has not shown yet, per Service key (with the time). */
  private readonly unseen = new Map<string, { names: string[]; at: number }>();

  constructor(
    ctx: ControllerContext,
    private readonly opts: { maxEndpointsPerSlice?: number } = {},
  ) {
    super(ctx);
    this.queue = newQueue(ctx, this.name);
    const services = ctx.informers.forResource<Service>(resourceInfo("", "v1", "services"));
    const pods = ctx.informers.forResource<Pod>(resourceInfo("", "v1", "pods"));
    const slicesInfo = resourceInfo("discovery.k8s.io", "v1", "endpointslices");
    this.slices = ctx.informers.forResource<EndpointSlice>(slicesInfo, {
      labelSelector: `${managedByLabel}=${controllerName}`,
    });
    this.slices.addIndexers({
      service: (s) => {
        const svc = s.metadata.labels?.[serviceNameLabel];
        return svc ? [`${s.metadata.namespace ?? ""}/${svc}`] : [];
      },
    });
    this.slicesClient = ctx.client.resource<EndpointSlice>(slicesInfo);
    this.services = services.lister();
    this.pods = pods.lister();
    this.informers = [services, pods, this.slices] as SharedInformer[];

    services.addEventHandler(enqueueHandler<Service>(this.queue));
    pods.addEventHandler(enqueueHandler<Pod>(this.queue, (p) => servicesForPod(p, this.services)));
    this.slices.addEventHandler(
      enqueueHandler<EndpointSlice>(this.queue, (s) => {
        const svc = s.metadata.labels?.[serviceNameLabel];
        return [svc ? `${s.metadata.namespace ?? ""}/${svc}` : undefined];
      }),
    );
  }

  protected cachesToSync() {
    return this.informers;
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitMetaNamespaceKey(key);
    const svc = this.services.namespace(namespace).get(name);
    const client = this.slicesClient.namespace(namespace);
    const existing = this.slices
      .lister()
      .byIndex("service", key)
      .sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
    // Until the slices we created show up in the cache, acting on it would create them
    // twice; their add events requeue the Service (a lost event expires after 30 s).
    const pending = this.unseen.get(key);
    if (pending) {
      const seen = new Set(existing.map((s) => s.metadata.name));
      if (pending.names.some((n) => !seen.has(n)) && Date.now() - pending.at < 30_000) return;
      this.unseen.delete(key);
    }
    const remove = async (s: EndpointSlice) =>
      client.delete(s.metadata.name ?? "").catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });

    if (!svc || !serviceSelector(svc)) {
      for (const s of existing) await remove(s);
      return;
    }
    // Slices keep terminating pods too (terminating: true), so proxies can drain them.
    const desired = desiredSlices(
      svc,
      servicePods(svc, this.pods, true),
      this.opts.maxEndpointsPerSlice,
    );
    const labels = {
      ...(svc.metadata.labels ?? {}),
      [serviceNameLabel]: name,
      [managedByLabel]: controllerName,
    };
    // Reuse slices that already carry the same ports; create or delete the difference.
    const unused = [...existing];
    for (const want of desired) {
      const i = unused.findIndex((s) => isDeepStrictEqual(s.ports ?? [], want.ports));
      const have = i >= 0 ? unused.splice(i, 1)[0] : undefined;
      if (!have) {
        const created = await client.create({
          apiVersion: "discovery.k8s.io/v1",
          kind: "EndpointSlice",
          metadata: {
            generateName: `${name}-`,
            namespace,
            labels,
            ownerReferences: [newControllerRef(svc, "v1", "Service")],
          },
          addressType: "IPv4",
          endpoints: want.endpoints,
          ports: want.ports,
        });
        const entry = this.unseen.get(key) ?? { names: [], at: Date.now() };
        entry.names.push(created.metadata.name ?? "");
        this.unseen.set(key, entry);
        continue;
      }
      if (
        isDeepStrictEqual(have.endpoints ?? [], want.endpoints) &&
        isDeepStrictEqual(have.metadata.labels ?? {}, labels)
      ) {
        continue;
      }
      const next = structuredClone(have);
      next.metadata.labels = labels;
      next.endpoints = want.endpoints;
      await client.update(next);
    }
    for (const s of unused) await remove(s);
  }
}

export const newEndpointSliceController: ControllerConstructor = (ctx) =>
  new EndpointSliceController(ctx);
