// core/v1 Endpoints as EndpointSlices, for an apiserver that serves no discovery.k8s.io/v1:
// the proxiers then see the same endpoint model whichever of the two the cluster has.
import { setTimeout as sleep } from "node:timers/promises";
import { isObject, type EndpointAddress, type EndpointPort } from "@skiff/api";
import { ApiError } from "@skiff/client";
import type { KubeObject, RestClient } from "@skiff/client";
import type { Endpoint, EndpointSlice, Endpoints, Logger } from "./types.js";
import { serviceNameLabel, silentLogger } from "./types.js";
import { InvalidObjectError } from "./errors.js";

const isIPv4 = (ip: string): boolean => /^\d{1,3}(\.\d{1,3}){3}$/.test(ip);

/**
 * One EndpointSlice per subset (a slice has one set of ports, as a subset does), named
 * `<endpoints>-<index>` and labelled with the Service's name. Ready addresses are ready and
 * serving; notReadyAddresses are neither (Endpoints cannot say "terminating"). Only IPv4
 * addresses are kept: the proxiers program IPv4 only.
 */
export function endpointSlicesFromEndpoints(ep: Endpoints): EndpointSlice[] {
  const { name = "", namespace } = ep.metadata;
  const endpoint = (a: EndpointAddress, ready: boolean): Endpoint => ({
    addresses: [a.ip],
    conditions: { ready, serving: ready, terminating: false },
    ...(a.nodeName ? { nodeName: a.nodeName } : {}),
  });
  return (ep.subsets ?? []).map((subset, i) => ({
    metadata: {
      name: `${name}-${i}`,
      ...(namespace ? { namespace } : {}),
      labels: { [serviceNameLabel]: name },
    },
    addressType: "IPv4",
    endpoints: [
      ...(subset.addresses ?? []).filter((a) => isIPv4(a.ip)).map((a) => endpoint(a, true)),
      ...(subset.notReadyAddresses ?? [])
        .filter((a) => isIPv4(a.ip))
        .map((a) => endpoint(a, false)),
    ],
    ports: (subset.ports ?? []).map((p) => ({
      port: p.port,
      protocol: p.protocol ?? "TCP",
      ...(p.name ? { name: p.name } : {}),
    })),
  }));
}

/**
 * An Endpoints update as slice updates, pairing the slices of the old and new object by
 * subset index: a subset that appeared is an add (previous undefined), one that went a delete.
 */
export function endpointSliceChanges(
  old: Endpoints | undefined,
  current: Endpoints | undefined,
): [EndpointSlice | undefined, EndpointSlice | undefined][] {
  const before = old ? endpointSlicesFromEndpoints(old) : [];
  const after = current ? endpointSlicesFromEndpoints(current) : [];
  return Array.from({ length: Math.max(before.length, after.length) }, (_, i) => [
    before[i],
    after[i],
  ]);
}

/** Checks what the apiserver did validate before the converter reads it. */
export function asEndpoints(obj: KubeObject): Endpoints {
  if (!obj.metadata.name) throw new InvalidObjectError("an Endpoints object without a name");
  const subsets = (obj as { subsets?: unknown }).subsets;
  if (subsets !== undefined && !Array.isArray(subsets))
    throw new InvalidObjectError("an Endpoints object whose subsets are not a list");
  const valid = ((subsets ?? []) as unknown[]).filter(isObject).map((s) => ({
    addresses: addresses(s.addresses),
    notReadyAddresses: addresses(s.notReadyAddresses),
    ports: Array.isArray(s.ports)
      ? (s.ports as unknown[]).filter(
          (p): p is EndpointPort => isObject(p) && typeof p.port === "number",
        )
      : [],
  }));
  return { metadata: obj.metadata, subsets: valid };
}

function addresses(list: unknown): EndpointAddress[] {
  if (!Array.isArray(list)) return [];
  return (list as unknown[]).filter(
    (a): a is EndpointAddress => isObject(a) && typeof a.ip === "string",
  );
}

/**
 * Whether the apiserver serves discovery.k8s.io/v1 EndpointSlices (every Kubernetes since
 * 1.21). Asks until it gets an answer — the apiserver may still be starting — or `signal`
 * aborts (then undefined).
 */
export async function servesEndpointSlices(
  client: RestClient,
  signal: AbortSignal,
  log: Logger = silentLogger,
): Promise<boolean | undefined> {
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      const list = await client.request("GET", "/apis/discovery.k8s.io/v1");
      return (
        isObject(list) &&
        Array.isArray(list.resources) &&
        (list.resources as unknown[]).some((r) => isObject(r) && r.name === "endpointslices")
      );
    } catch (err) {
      if (err instanceof ApiError && err.code === 404) return false;
      if (attempt === 0)
        log.warn(
          { err: String(err) },
          "API discovery failed; retrying until the apiserver answers",
        );
      await sleep(Math.min(500 * 2 ** attempt, 10_000), undefined, { signal }).catch(() => {});
    }
  }
  return undefined;
}
