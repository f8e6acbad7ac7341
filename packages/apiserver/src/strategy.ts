// Per-kind rules the generic registry applies on create, update and delete: what status
// looks like for a new object, which fields count as "spec" for generation, service
// address allocation, job selectors, pod QoS and default tolerations.
import { randomUUID } from "node:crypto";
import { qosClass, type ResourceInfo } from "@skiff/api";
import { isObject, jsonEqual, meta, type KubeObject } from "./objects.js";
import type { ServiceAllocator } from "./allocator.js";
import { NODE_PORT_CLAIMS, SERVICE_IP_CLAIMS } from "./allocator.js";
import { InvalidError } from "./errors.js";

/** The fields outside metadata and status; a change to them bumps metadata.generation. */
export function specOf(obj: KubeObject): Record<string, unknown> {
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k !== "metadata" && k !== "status" && k !== "kind" && k !== "apiVersion") rest[k] = v;
  }
  return rest;
}

export function specChanged(a: KubeObject, b: KubeObject): boolean {
  return !jsonEqual(specOf(a), specOf(b));
}

/** Status a freshly created object starts with (what the client sent is dropped). */
export function initialStatus(info: ResourceInfo, obj: KubeObject): void {
  if (!info.hasStatus || info.kind === "Node") return;
  if (info.custom) {
    // A custom resource with a status subresource starts without status (set through /status).
    delete obj.status;
    return;
  }
  switch (info.kind) {
    case "Pod":
      obj.status = { phase: "Pending", qosClass: qosClass(obj) };
      return;
    case "Namespace":
      obj.status = { phase: "Active" };
      return;
    case "Service":
      obj.status = { loadBalancer: {} };
      return;
    default:
      obj.status = {};
  }
}

/** The DefaultTolerationSeconds admission: pods tolerate not-ready/unreachable nodes for 300 s. */
export function addDefaultTolerations(pod: KubeObject): void {
  const spec = pod.spec as Record<string, unknown> | undefined;
  if (!spec) return;
  const tolerations = (Array.isArray(spec.tolerations) ? spec.tolerations : []) as Record<
    string,
    unknown
  >[];
  for (const key of ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]) {
    const has = tolerations.some(
      (t) =>
        (t.key === key || (t.key === undefined && t.operator === "Exists")) &&
        (t.effect === undefined || t.effect === "" || t.effect === "NoExecute"),
    );
    if (!has)
      tolerations.push({ key, operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 });
  }
  spec.tolerations = tolerations;
}

/** Jobs without manualSelector get a selector on a label holding their own uid. */
export function generateJobSelector(job: KubeObject): void {
  const spec = job.spec as Record<string, unknown> | undefined;
  if (!spec || spec.manualSelector === true) return;
  const uid = meta(job).uid!;
  const name = meta(job).name!;
  const template = (spec.template ??= {}) as Record<string, unknown>;
  const tmeta = (template.metadata ??= {}) as Record<string, unknown>;
  tmeta.labels = {
    ...((tmeta.labels as Record<string, string>) ?? {}),
    "batch.kubernetes.io/controller-uid": uid,
    "batch.kubernetes.io/job-name": name,
    "controller-uid": uid,
    "job-name": name,
  };
  if (!spec.selector)
    spec.selector = { matchLabels: { "batch.kubernetes.io/controller-uid": uid } };
}

export function newUid(): string {
  return randomUUID();
}

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
