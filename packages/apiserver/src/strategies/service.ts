// Services: a ClusterIP from --service-cluster-ip-range and NodePorts from
// --service-node-port-range, held as claims in etcd so that no two Services share one.
import { InvalidError } from "../errors.js";
import { isObject, meta, type KubeObject } from "../objects.js";
import type { ServiceAllocator } from "../allocator.js";
import { NODE_PORT_CLAIMS, SERVICE_IP_CLAIMS } from "../allocator.js";
import type { Strategy } from "./strategy.js";

export const serviceStrategy: Strategy = {
  storageDir: "services/specs",
  prepareForCreate(svc) {
    svc.status = { loadBalancer: {} };
  },
  claims: {
    of: serviceClaims,
    allocate: allocateServiceAddresses,
    reroll: rerollClaim,
    taken: claimTaken,
  },
};

/** The claim keys (ClusterIPs, NodePorts) a Service holds. */
export function serviceClaims(svc: KubeObject): string[] {
  const claims: string[] = [];
  const spec = svc.spec as Record<string, unknown> | undefined;
  if (!spec) return claims;
  const ips =
    (spec.clusterIPs as string[] | undefined) ?? (spec.clusterIP ? [spec.clusterIP as string] : []);
  for (const ip of ips) if (ip && ip !== "None") claims.push(SERVICE_IP_CLAIMS + ip);
  for (const p of (spec.ports as Record<string, unknown>[] | undefined) ?? []) {
    if (typeof p.nodePort === "number" && p.nodePort > 0)
      claims.push(NODE_PORT_CLAIMS + `${p.protocol ?? "TCP"}/${p.nodePort}`);
  }
  return claims;
}

function needsNodePorts(spec: Record<string, unknown>): boolean {
  return spec.type === "NodePort" || spec.type === "LoadBalancer";
}

/**
 * Fills in the ClusterIP and NodePorts a Service needs; `randomize` picks new candidates
 * for what was not asked for explicitly (called again after a claim collision).
 * `old` is the stored Service on update.
 */
export function allocateServiceAddresses(
  svc: KubeObject,
  old: KubeObject | undefined,
  alloc: ServiceAllocator,
): void {
  const spec = svc.spec as Record<string, unknown> | undefined;
  if (!isObject(spec)) return;
  const name = meta(svc).name ?? "";
  const oldSpec = (old?.spec ?? {}) as Record<string, unknown>;
  if (spec.type === "ExternalName") {
    delete spec.clusterIP;
    delete spec.clusterIPs;
  } else if (old && oldSpec.clusterIP && oldSpec.type !== "ExternalName") {
    if (
      spec.clusterIP !== undefined &&
      spec.clusterIP !== "" &&
      spec.clusterIP !== oldSpec.clusterIP
    ) {
      throw new InvalidError("Service", "", name, [
        {
          type: "FieldValueInvalid",
          field: "spec.clusterIPs[0]",
          message: `Invalid value: ${JSON.stringify([spec.clusterIP])}: may not change once set`,
        },
      ]);
    }
    spec.clusterIP = oldSpec.clusterIP;
    spec.clusterIPs = oldSpec.clusterIPs ?? [oldSpec.clusterIP];
  } else if (spec.clusterIP === "None") {
    spec.clusterIPs = ["None"];
  } else if (typeof spec.clusterIP === "string" && spec.clusterIP !== "") {
    alloc.checkIP(spec.clusterIP, name, "spec.clusterIPs[0]");
    spec.clusterIPs = [spec.clusterIP];
  } else {
    spec.clusterIP = alloc.randomIP();
    spec.clusterIPs = [spec.clusterIP];
  }
  const oldPorts = new Map<string, number>();
  for (const p of (oldSpec.ports as Record<string, unknown>[] | undefined) ?? []) {
    if (typeof p.nodePort === "number")
      oldPorts.set(`${p.protocol ?? "TCP"}/${p.port}`, p.nodePort);
  }
  // Fields that belong to the old type go with it, as Kubernetes drops them on a type change.
  if (
    old &&
    !needsNodePorts(spec) &&
    spec.externalTrafficPolicy === oldSpec.externalTrafficPolicy
  ) {
    delete spec.externalTrafficPolicy;
    delete spec.healthCheckNodePort;
  }
  const ports = (spec.ports as Record<string, unknown>[] | undefined) ?? [];
  ports.forEach((p, i) => {
    if (!needsNodePorts(spec)) {
      delete p.nodePort;
      return;
    }
    if (typeof p.nodePort === "number" && p.nodePort !== 0) {
      alloc.checkPort(p.nodePort, name, `spec.ports[${i}].nodePort`);
      return;
    }
    p.nodePort = oldPorts.get(`${p.protocol ?? "TCP"}/${p.port}`) ?? alloc.randomPort();
  });
}

/** Rerolls the addresses that were picked at random and collided with another Service's. */
export function rerollClaim(svc: KubeObject, claim: string, alloc: ServiceAllocator): void {
  const spec = svc.spec as Record<string, unknown>;
  if (claim.startsWith(SERVICE_IP_CLAIMS)) {
    spec.clusterIP = alloc.randomIP();
    spec.clusterIPs = [spec.clusterIP];
  } else {
    const [proto, port] = claim.slice(NODE_PORT_CLAIMS.length).split("/");
    for (const p of (spec.ports as Record<string, unknown>[]) ?? []) {
      if (p.nodePort === Number(port) && (p.protocol ?? "TCP") === proto)
        p.nodePort = alloc.randomPort();
    }
  }
}

/** A ClusterIP or NodePort the client asked for that another Service holds. */
export function claimTaken(obj: KubeObject, claim: string): InvalidError {
  const what = claim.split("/").slice(-1)[0];
  const isIP = claim.includes("serviceips");
  return new InvalidError("Service", "", meta(obj).name ?? "", [
    {
      type: "FieldValueInvalid",
      field: isIP ? "spec.clusterIPs" : "spec.ports[].nodePort",
      message: isIP
        ? `Invalid value: ${JSON.stringify([what])}: failed to allocate IP ${what}: provided IP is already allocated`
        : `Invalid value: ${what}: provided port is already allocated`,
    },
  ]);
}
