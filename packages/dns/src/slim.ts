// The informer caches keep only the fields the zone reads (as CoreDNS keeps its own small
// copies of Services, EndpointSlices and Pods): managedFields, annotations, status and the
// rest of a Service are most of its size, and with 10,000 Services the difference is both
// memory and garbage-collection pauses.
import type { KubeObject, ListerWatcher } from "@skiff/client";
import { serviceNameLabel } from "./records.js";
import type { EndpointSliceObject, PodObject, ServiceObject } from "./records.js";

/** A ListerWatcher whose objects (listed and watched) pass through `slim` first. */
export function slimmed<T extends KubeObject>(
  lw: ListerWatcher<T>,
  slim: (o: T) => T,
): ListerWatcher<T> {
  return {
    list: async (opts) => {
      const list = await lw.list(opts);
      return { ...list, items: list.items.map(slim) };
    },
    watch: (opts) => {
      const events = lw.watch(opts);
      return {
        stop: () => events.stop(),
        async *[Symbol.asyncIterator]() {
          for await (const e of events)
            yield e.type === "ERROR" || e.type === "BOOKMARK"
              ? e
              : { ...e, object: slim(e.object) };
        },
      };
    },
  };
}

const meta = (o: KubeObject): KubeObject["metadata"] => ({
  name: o.metadata.name,
  namespace: o.metadata.namespace,
  uid: o.metadata.uid,
  resourceVersion: o.metadata.resourceVersion,
});

export function slimService(s: ServiceObject): ServiceObject {
  const spec = s.spec ?? {};
  return {
    metadata: meta(s),
    spec: {
      type: spec.type,
      clusterIP: spec.clusterIP,
      clusterIPs: spec.clusterIPs,
      externalName: spec.externalName,
      publishNotReadyAddresses: spec.publishNotReadyAddresses,
      ports: spec.ports?.map((p) => ({ name: p.name, protocol: p.protocol, port: p.port })),
    },
  };
}

export function slimEndpointSlice(e: EndpointSliceObject): EndpointSliceObject {
  const svc = e.metadata.labels?.[serviceNameLabel];
  return {
    metadata: { ...meta(e), labels: svc === undefined ? {} : { [serviceNameLabel]: svc } },
    addressType: e.addressType,
    ports: e.ports,
    endpoints: (e.endpoints ?? []).map((ep) => ({
      addresses: ep.addresses,
      hostname: ep.hostname,
      conditions: { ready: ep.conditions?.ready },
    })),
  };
}

export function slimPod(p: PodObject): PodObject {
  return {
    metadata: meta(p),
    status: { podIP: p.status?.podIP, podIPs: p.status?.podIPs },
  };
}
