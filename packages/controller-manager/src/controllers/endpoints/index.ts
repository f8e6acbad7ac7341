// The Endpoints controller: keeps one Endpoints object per Service with a selector, listing
// the ready and not-ready addresses of the pods it selects and the ports they serve on.
import { isDeepStrictEqual } from "node:util";
import {
  isPodReady,
  resourceInfo,
  type EndpointAddress,
  type EndpointPort,
  type EndpointSubset,
} from "@skiff/api/light";
import type { Endpoints, Pod, Service } from "../../objects.js";
import { isAlreadyExists, isNotFound, splitMetaNamespaceKey } from "@skiff/client";
import type { Lister, ResourceClient, SharedInformer, WorkQueue } from "@skiff/client";
import {
  enqueueHandler,
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
} from "./pods.js";

/** Set on Endpoints of headless Services, as Kubernetes does. */
export const headlessLabel = "service.kubernetes.io/headless";

/**
 * The subsets a Service should have: one per distinct list of resolved ports, each with
 * its ready and not-ready addresses, sorted so that equal states compare equal.
 */
export function endpointSubsets(svc: Service, pods: Pod[]): EndpointSubset[] {
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const headless = svc.spec?.clusterIP === "None";
  const bySignature = new Map<string, EndpointSubset>();
  for (const pod of pods) {
    // Endpoints leave an empty port name out.
    const ports: EndpointPort[] = resolvePorts(svc, pod).map(({ name, ...p }) =>
      name ? { name, ...p } : p,
    );
    // A pod serving none of the Service's ports is no endpoint, unless a headless
    // Service has no ports at all (DNS still lists its pods).
    if (ports.length === 0 && !(headless && (svc.spec?.ports ?? []).length === 0)) continue;
    const address: EndpointAddress = { ip: pod.status!.podIP!, ...endpointPodFields(svc, pod) };
    const signature = JSON.stringify(ports);
    let subset = bySignature.get(signature);
    if (!subset) bySignature.set(signature, (subset = { ports }));
    const ready = publishNotReady || (isPodReady(pod) && !pod.metadata.deletionTimestamp);
    const list = ready ? (subset.addresses ??= []) : (subset.notReadyAddresses ??= []);
    list.push(address);
  }
  const subsets = [...bySignature.values()];
  for (const s of subsets) {
    s.addresses?.sort(byIp);
    s.notReadyAddresses?.sort(byIp);
    if (s.ports?.length === 0) delete s.ports;
  }
  return subsets.sort((a, b) => JSON.stringify(a.ports).localeCompare(JSON.stringify(b.ports)));
}

const byIp = (a: EndpointAddress, b: EndpointAddress) =>
  a.ip.localeCompare(b.ip, undefined, { numeric: true });

/** The labels of a Service's Endpoints: the Service's own, plus the headless marker. */
export function endpointsLabels(svc: Service): Record<string, string> {
  const labels = { ...(svc.metadata.labels ?? {}) };
  if (svc.spec?.clusterIP === "None") labels[headlessLabel] = "";
  else delete labels[headlessLabel];
  return labels;
}

export class EndpointsController extends QueueController {
  readonly name = "endpoint"; // its --controllers name, as in kube-controller-manager
  readonly queue: WorkQueue<string>;
  private readonly services: Lister<Service>;
  private readonly pods: Lister<Pod>;
  private readonly endpoints: Lister<Endpoints>;
  private readonly informers: SharedInformer[];
  private readonly endpointsClient: ResourceClient<Endpoints>;

  constructor(ctx: ControllerContext) {
    super(ctx);
    this.queue = newQueue(ctx, this.name);
    const services = ctx.informers.forResource<Service>(resourceInfo("", "v1", "services"));
    const pods = ctx.informers.forResource<Pod>(resourceInfo("", "v1", "pods"));
    const endpointsInfo = resourceInfo("", "v1", "endpoints");
    const endpoints = ctx.informers.forResource<Endpoints>(endpointsInfo);
    this.endpointsClient = ctx.client.resource<Endpoints>(endpointsInfo);
    this.services = services.lister();
    this.pods = pods.lister();
    this.endpoints = endpoints.lister();
    this.informers = [services, pods, endpoints] as SharedInformer[];

    services.addEventHandler(enqueueHandler<Service>(this.queue));
    // A pod change matters to every Service selecting it, before or after the change.
    pods.addEventHandler(enqueueHandler<Pod>(this.queue, (p) => servicesForPod(p, this.services)));
    // Someone else changing or deleting an Endpoints object is drift to repair.
    endpoints.addEventHandler(enqueueHandler<Endpoints>(this.queue));
  }

  protected cachesToSync() {
    return this.informers;
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitMetaNamespaceKey(key);
    const svc = this.services.namespace(namespace).get(name);
    const current = this.endpoints.namespace(namespace).get(name);
    const client = this.endpointsClient.namespace(namespace);
    if (!svc) {
      // Only Endpoints we could have made go with the Service; the apiserver owns
      // `kubernetes`, and without a Service there is nothing that says who else does.
      if (current && !(namespace === "default" && name === "kubernetes")) {
        await client.delete(name).catch((e: unknown) => {
          if (!isNotFound(e)) throw e;
        });
      }
      return;
    }
    if (!serviceSelector(svc)) return; // endpoints of selector-less Services are the user's
    const includeTerminating = svc.spec?.publishNotReadyAddresses === true;
    const subsets = endpointSubsets(svc, servicePods(svc, this.pods, includeTerminating));
    const labels = endpointsLabels(svc);
    if (!current) {
      const ep: Endpoints = {
        apiVersion: "v1",
        kind: "Endpoints",
        metadata: { name, namespace, labels },
        subsets,
      };
      await client.create(ep).catch((e: unknown) => {
        if (!isAlreadyExists(e)) throw e; // our cache is behind; its event will requeue us
      });
      return;
    }
    if (
      isDeepStrictEqual(current.subsets ?? [], subsets) &&
      isDeepStrictEqual(current.metadata.labels ?? {}, labels)
    ) {
      return;
    }
    const next = structuredClone(current);
    next.metadata.labels = labels;
    next.subsets = subsets;
    await client.update(next); // a stale cache gets 409 and is retried
  }
}

export const newEndpointsController: ControllerConstructor = (ctx) => new EndpointsController(ctx);
