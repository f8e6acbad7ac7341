// Per-kind checks on create and update, after the schema's type checks have passed.

import type { Job } from "../schemas/batch.js";
import type {
  ConfigMap,
  Endpoints,
  Event,
  Namespace,
  Node,
  Pod,
  Secret,
  Service,
} from "../schemas/core.js";

import type { EndpointSlice, Lease } from "../schemas/other.js";
import type { FieldErrors } from "./errors.js";
import { validateHorizontalPodAutoscaler } from "./autoscaling.js";
import { validateLabels } from "./meta.js";
import {
  isConfigMapKey,
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isIP,
  isIPv4,
  isIPv6,
  isCIDR,
  isQualifiedName,
  isValidLabelValue,
  isValidPortNum,
} from "./names.js";
import {
  GE0,
  deepEqual,
  nonNegative,
  validatePodSpec,
  validatePodSpecUpdate,
  validatePortNumOrName,
} from "./pod.js";
import {
  validateDaemonSet,
  validateDeployment,
  validateJob,
  validateReplicaSet,
} from "./workloads.js";

const PROTOCOLS = ["SCTP", "TCP", "UDP"];

// ---- core kinds ---------------------------------------------------------------------

export function validatePod(errs: FieldErrors, pod: Pod): void {
  validatePodSpec(errs, pod.spec, "spec");
}

/** Checks only a create makes (Kubernetes' ValidatePodCreate). */
export const createValidators: Record<string, Validator> = {
  Pod: (errs, pod: Pod) => {
    if (pod.spec?.ephemeralContainers?.length)
      errs.forbidden("spec.ephemeralContainers", "cannot be set on create");
  },
};

const SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
const TRAFFIC_POLICIES = ["Cluster", "Local"];

export function validateService(errs: FieldErrors, svc: Service): void {
  const spec = svc.spec ?? {};
  const type = spec.type ?? "ClusterIP";
  if (!SERVICE_TYPES.includes(type)) errs.notSupported("spec.type", type, SERVICE_TYPES);
  const headless = spec.clusterIP === "None";
  const ports = spec.ports ?? [];
  if (ports.length === 0 && !headless && type !== "ExternalName") errs.required("spec.ports");
  if (type === "ExternalName") {
    if (!spec.externalName) errs.required("spec.externalName");
    else
      errs.invalidEach(
        "spec.externalName",
        spec.externalName,
        isDNS1123Subdomain(spec.externalName.replace(/\.$/, "")),
      );
    if ((spec.clusterIPs ?? []).length > 0 || spec.clusterIP) {
      errs.forbidden("spec.clusterIPs", "may not be set for ExternalName services");
    }
  }
  const names = new Set<string>();
  const keys = new Set<string>();
  ports.forEach((p, i) => {
    const pp = `spec.ports[${i}]`;
    if (ports.length > 1 && !p.name) errs.required(`${pp}.name`);
    else if (p.name) {
      errs.invalidEach(`${pp}.name`, p.name, isDNS1123Label(p.name));
      if (names.has(p.name)) errs.duplicate(`${pp}.name`, p.name);
      names.add(p.name);
    }
    errs.invalidEach(`${pp}.port`, p.port, isValidPortNum(p.port));
    const protocol = p.protocol ?? "TCP";
    if (!PROTOCOLS.includes(protocol)) errs.notSupported(`${pp}.protocol`, protocol, PROTOCOLS);
    if (p.targetPort !== undefined) validatePortNumOrName(errs, p.targetPort, `${pp}.targetPort`);
    if (p.appProtocol)
      errs.invalidEach(`${pp}.appProtocol`, p.appProtocol, isQualifiedName(p.appProtocol));
    if (p.nodePort) {
      if (type === "ClusterIP" || type === "ExternalName")
        errs.forbidden(`${pp}.nodePort`, `may not be used when \`type\` is '${type}'`);
      else errs.invalidEach(`${pp}.nodePort`, p.nodePort, isValidPortNum(p.nodePort));
    }
    const key = `${protocol}/${p.port}`;
    if (keys.has(key)) errs.duplicate(pp, { port: p.port, protocol });
    keys.add(key);
  });
  const clusterIPs = spec.clusterIPs ?? [];
  clusterIPs.forEach((ip, i) => {
    if (i === 0 && ip === "None") return;
    if (!isIP(ip))
      errs.invalid(
        `spec.clusterIPs[${i}]`,
        ip,
        "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
      );
  });
  if (spec.clusterIP && clusterIPs.length > 0 && clusterIPs[0] !== spec.clusterIP) {
    errs.invalid("spec.clusterIPs", clusterIPs, "element [0] must match clusterIP");
  } else if (
    spec.clusterIP &&
    clusterIPs.length === 0 &&
    spec.clusterIP !== "None" &&
    !isIP(spec.clusterIP)
  ) {
    errs.invalid(
      "spec.clusterIP",
      spec.clusterIP,
      "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
    );
  }
  (spec.externalIPs ?? []).forEach((ip, i) => {
    if (!isIP(ip))
      errs.invalid(
        `spec.externalIPs[${i}]`,
        ip,
        "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
      );
  });
  const affinities = ["ClientIP", "None"];
  if (spec.sessionAffinity !== undefined && !affinities.includes(spec.sessionAffinity)) {
    errs.notSupported("spec.sessionAffinity", spec.sessionAffinity, affinities);
  }
  const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  if (timeout !== undefined && (timeout <= 0 || timeout > 86400)) {
    errs.invalid(
      "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
      timeout,
      "must be greater than 0 and less than 86400",
    );
  }
  const etp = spec.externalTrafficPolicy;
  if (etp !== undefined && etp !== "") {
    const external =
      type === "NodePort" || type === "LoadBalancer" || (spec.externalIPs ?? []).length > 0;
    if (!external)
      errs.invalid(
        "spec.externalTrafficPolicy",
        etp,
        "may only be set for externally-accessible services",
      );
    else if (!TRAFFIC_POLICIES.includes(etp))
      errs.notSupported("spec.externalTrafficPolicy", etp, TRAFFIC_POLICIES);
  }
  const itp = spec.internalTrafficPolicy;
  if (itp !== undefined && !TRAFFIC_POLICIES.includes(itp)) {
    errs.notSupported("spec.internalTrafficPolicy", itp, TRAFFIC_POLICIES);
  }
  const familyPolicies = ["PreferDualStack", "RequireDualStack", "SingleStack"];
  if (spec.ipFamilyPolicy !== undefined && !familyPolicies.includes(spec.ipFamilyPolicy)) {
    errs.notSupported("spec.ipFamilyPolicy", spec.ipFamilyPolicy, familyPolicies);
  }
  const families = spec.ipFamilies ?? [];
  families.forEach((f, i) => {
    if (f !== "IPv4" && f !== "IPv6")
      errs.notSupported(`spec.ipFamilies[${i}]`, f, ["IPv4", "IPv6"]);
    else if (families.indexOf(f) !== i) errs.duplicate(`spec.ipFamilies[${i}]`, f);
  });
  validateLabels(errs, spec.selector, "spec.selector");
  if (spec.loadBalancerIP && !isIP(spec.loadBalancerIP)) {
    errs.invalid("spec.loadBalancerIP", spec.loadBalancerIP, "must be a valid IP address");
  }
}

export function validateEndpoints(errs: FieldErrors, ep: Endpoints): void {
  (ep.subsets ?? []).forEach((s, i) => {
    const sp = `subsets[${i}]`;
    if ((s.addresses ?? []).length === 0 && (s.notReadyAddresses ?? []).length === 0) {
      errs.required(sp, "must specify `addresses` or `notReadyAddresses`");
    }
    for (const field of ["addresses", "notReadyAddresses"] as const) {
      (s[field] ?? []).forEach((a, j) => {
        const ap = `${sp}.${field}[${j}]`;
        if (!isIP(a.ip)) errs.invalid(`${ap}.ip`, a.ip, "must be a valid IP address");
        if (a.hostname) errs.invalidEach(`${ap}.hostname`, a.hostname, isDNS1123Label(a.hostname));
        if (a.nodeName)
          errs.invalidEach(`${ap}.nodeName`, a.nodeName, isDNS1123Subdomain(a.nodeName));
      });
    }
    const ports = s.ports ?? [];
    if (ports.length === 0) errs.required(`${sp}.ports`);
    ports.forEach((p, j) => {
      const pp = `${sp}.ports[${j}]`;
      if (ports.length > 1 && !p.name) errs.required(`${pp}.name`);
      else if (p.name) errs.invalidEach(`${pp}.name`, p.name, isDNS1123Label(p.name));
      errs.invalidEach(`${pp}.port`, p.port, isValidPortNum(p.port));
      const protocol = p.protocol ?? "TCP";
      if (!PROTOCOLS.includes(protocol)) errs.notSupported(`${pp}.protocol`, protocol, PROTOCOLS);
    });
  });
}

export function validateEndpointSlice(errs: FieldErrors, es: EndpointSlice): void {
  const types = ["FQDN", "IPv4", "IPv6"];
  if (!es.addressType) errs.required("addressType");
  else if (!types.includes(es.addressType)) errs.notSupported("addressType", es.addressType, types);
  const endpoints = es.endpoints ?? [];
  if (endpoints.length > 1000) errs.tooMany("endpoints", endpoints.length, 1000);
  endpoints.forEach((e, i) => {
    const p = `endpoints[${i}]`;
    if (e.addresses.length === 0)
      errs.required(`${p}.addresses`, "must contain at least 1 address");
    if (e.addresses.length > 100) errs.tooMany(`${p}.addresses`, e.addresses.length, 100);
    e.addresses.forEach((a, j) => {
      const ap = `${p}.addresses[${j}]`;
      if (es.addressType === "IPv4" && !isIPv4(a))
        errs.invalid(ap, a, "must be a valid IPv4 address");
      if (es.addressType === "IPv6" && !isIPv6(a))
        errs.invalid(ap, a, "must be a valid IPv6 address");
      if (es.addressType === "FQDN") errs.invalidEach(ap, a, isDNS1123Subdomain(a));
    });
    if (e.hostname) errs.invalidEach(`${p}.hostname`, e.hostname, isDNS1123Label(e.hostname));
    if (e.nodeName) errs.invalidEach(`${p}.nodeName`, e.nodeName, isDNS1123Subdomain(e.nodeName));
  });
  const ports = es.ports ?? [];
  if (ports.length > 100) errs.tooMany("ports", ports.length, 100);
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const pp = `ports[${i}]`;
    if (p.name) errs.invalidEach(`${pp}.name`, p.name, isDNS1123Label(p.name));
    if (names.has(p.name ?? "")) errs.duplicate(`${pp}.name`, p.name ?? "");
    names.add(p.name ?? "");
    if (p.port !== undefined) errs.invalidEach(`${pp}.port`, p.port, isValidPortNum(p.port));
    const protocol = p.protocol ?? "TCP";
    if (!PROTOCOLS.includes(protocol)) errs.notSupported(`${pp}.protocol`, protocol, PROTOCOLS);
  });
}

const MAX_DATA_SIZE = 1024 * 1024;

function validateDataKeys(
  errs: FieldErrors,
  field: string,
  data: Record<string, string> | undefined,
): number {
  let size = 0;
  for (const [k, v] of Object.entries(data ?? {})) {
    errs.invalidEach(`${field}[${k}]`, k, isConfigMapKey(k));
    size += k.length + v.length;
  }
  return size;
}

export function validateConfigMap(errs: FieldErrors, cm: ConfigMap): void {
  let size = validateDataKeys(errs, "data", cm.data);
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) {
    errs.invalidEach(`binaryData[${k}]`, k, isConfigMapKey(k));
    if (cm.data && Object.hasOwn(cm.data, k))
      errs.invalid("data", k, "duplicate of key present in binaryData");
    if (!isBase64(v)) errs.invalid(`binaryData[${k}]`, "<value omitted>", "illegal base64 data");
    size += k.length + Math.floor((v.length * 3) / 4);
  }
  if (size > MAX_DATA_SIZE) errs.tooLong("", MAX_DATA_SIZE);
}

function isBase64(s: string): boolean {
  return /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s);
}

export function validateSecret(errs: FieldErrors, secret: Secret): void {
  let size = 0;
  for (const [k, v] of Object.entries(secret.data ?? {})) {
    errs.invalidEach(`data[${k}]`, k, isConfigMapKey(k));
    if (!isBase64(v))
      errs.invalid(`data[${k}]`, "<secret contents redacted>", "illegal base64 data");
    size += Math.floor((v.length * 3) / 4);
  }
  size += validateDataKeys(errs, "stringData", secret.stringData);
  if (size > MAX_DATA_SIZE) errs.tooLong("data", MAX_DATA_SIZE);
  const has = (k: string) =>
    Object.hasOwn(secret.data ?? {}, k) || Object.hasOwn(secret.stringData ?? {}, k);
  switch (secret.type) {
    case "kubernetes.io/service-account-token":
      if (!secret.metadata?.annotations?.["kubernetes.io/service-account.name"]) {
        errs.required("metadata.annotations[kubernetes.io/service-account.name]");
      }
      break;
    case "kubernetes.io/dockerconfigjson":
      if (!has(".dockerconfigjson")) errs.required("data[.dockerconfigjson]");
      break;
    case "kubernetes.io/dockercfg":
      if (!has(".dockercfg")) errs.required("data[.dockercfg]");
      break;
    case "kubernetes.io/basic-auth":
      if (!has("username") && !has("password"))
        errs.required("data[username]", "either username or password must be provided");
      break;
    case "kubernetes.io/ssh-auth":
      if (!has("ssh-privatekey")) errs.required("data[ssh-privatekey]");
      break;
    case "kubernetes.io/tls":
      if (!has("tls.crt")) errs.required("data[tls.crt]");
      if (!has("tls.key")) errs.required("data[tls.key]");
      break;
  }
}

const STANDARD_FINALIZERS = ["kubernetes", "orphan", "foregroundDeletion"];

export function validateNamespace(errs: FieldErrors, ns: Namespace): void {
  (ns.spec?.finalizers ?? []).forEach((f) => {
    errs.invalidEach("spec.finalizers", f, isQualifiedName(f));
    if (!f.includes("/") && !STANDARD_FINALIZERS.includes(f)) {
      errs.invalid(
        "spec.finalizers",
        f,
        "name is neither a standard finalizer name nor is it fully qualified",
      );
    }
  });
}

export function validateNode(errs: FieldErrors, node: Node): void {
  const spec = node.spec ?? {};
  if (spec.podCIDR && !isCIDR(spec.podCIDR))
    errs.invalid("spec.podCIDR", spec.podCIDR, "must be a valid CIDR");
  (spec.podCIDRs ?? []).forEach((c, i) => {
    if (!isCIDR(c)) errs.invalid(`spec.podCIDRs[${i}]`, c, "must be a valid CIDR");
  });
  const seen = new Set<string>();
  (spec.taints ?? []).forEach((t, i) => {
    const p = `spec.taints[${i}]`;
    errs.invalidEach(`${p}.key`, t.key, isQualifiedName(t.key));
    if (t.value) errs.invalidEach(`${p}.value`, t.value, isValidLabelValue(t.value));
    const effects = ["NoExecute", "NoSchedule", "PreferNoSchedule"];
    if (!t.effect) errs.required(`${p}.effect`);
    else if (!effects.includes(t.effect)) errs.notSupported(`${p}.effect`, t.effect, effects);
    const key = `${t.key}:${t.effect}`;
    if (seen.has(key)) errs.duplicate(p, `${t.key}=${t.value ?? ""}:${t.effect}`);
    seen.add(key);
  });
}

export function validateEvent(errs: FieldErrors, ev: Event): void {
  const ns = ev.metadata?.namespace ?? "";
  const objNs = ev.involvedObject?.namespace;
  if (objNs && objNs !== ns) {
    errs.invalid("involvedObject.namespace", objNs, "does not match event.namespace");
  }
  if (ev.type !== undefined && ev.type !== "" && ev.type !== "Normal" && ev.type !== "Warning") {
    errs.invalid("type", "", `has invalid value: ${ev.type}`);
  }
  if (ev.count !== undefined && ev.count < 0) errs.invalid("count", ev.count, GE0);
}

export function validateLease(errs: FieldErrors, lease: Lease): void {
  const spec = lease.spec ?? {};
  if (spec.leaseDurationSeconds !== undefined && spec.leaseDurationSeconds <= 0) {
    errs.invalid("spec.leaseDurationSeconds", spec.leaseDurationSeconds, "must be greater than 0");
  }
  nonNegative(errs, spec.leaseTransitions, "spec.leaseTransitions");
}

// ---- updates ------------------------------------------------------------------------

export const IMMUTABLE = "field is immutable";
const NODE_CIDR = 'node updates may not change podCIDR except from "" to valid';

type Updater = (errs: FieldErrors, now: never, old: never) => void;

export function immutableSelector(
  errs: FieldErrors,
  now: { spec?: { selector?: unknown } },
  old: { spec?: { selector?: unknown } },
): void {
  if (!deepEqual(now.spec?.selector, old.spec?.selector)) {
    errs.invalid("spec.selector", now.spec?.selector ?? null, IMMUTABLE);
  }
}

function immutableData(
  errs: FieldErrors,
  now: ConfigMap | Secret,
  old: ConfigMap | Secret,
  fields: ("data" | "binaryData")[],
): void {
  if (old.immutable !== true) return;
  const message = "field is immutable when `immutable` is set";
  if (now.immutable !== true) errs.forbidden("immutable", message);
  for (const f of fields) {
    const a = (now as Record<string, unknown>)[f];
    const b = (old as Record<string, unknown>)[f];
    if (!deepEqual(a ?? {}, b ?? {})) errs.forbidden(f, message);
  }
}

export const updateValidators: Record<string, Updater> = {
  Pod: (errs, now: Pod, old: Pod) => validatePodSpecUpdate(errs, now.spec, old.spec),
  Deployment: immutableSelector,
  ReplicaSet: immutableSelector,
  DaemonSet: immutableSelector,
  Job: (errs, now: Job, old: Job) => {
    immutableSelector(errs, now, old);
    if (!deepEqual(now.spec?.template, old.spec?.template)) {
      errs.invalid("spec.template", now.spec?.template ?? null, IMMUTABLE);
    }
    if ((now.spec?.completionMode ?? "") !== (old.spec?.completionMode ?? "")) {
      errs.invalid("spec.completionMode", now.spec?.completionMode ?? "", IMMUTABLE);
    }
  },
  Service: (errs, now: Service, old: Service) => {
    // The cluster IP stays once allocated, unless the service turns into or out of
    // ExternalName (which has none).
    if (now.spec?.type === "ExternalName" || old.spec?.type === "ExternalName") return;
    const before = old.spec?.clusterIPs?.[0] ?? old.spec?.clusterIP ?? "";
    const after = now.spec?.clusterIPs?.[0] ?? now.spec?.clusterIP ?? "";
    if (before !== "" && after !== before) {
      errs.invalid("spec.clusterIPs[0]", after, "may not change once set");
    }
  },
  ConfigMap: (errs, now: ConfigMap, old: ConfigMap) =>
    immutableData(errs, now, old, ["data", "binaryData"]),
  Secret: (errs, now: Secret, old: Secret) => {
    immutableData(errs, now, old, ["data"]);
    if ((now.type ?? "") !== (old.type ?? "")) errs.invalid("type", now.type ?? "", IMMUTABLE);
  },
  Node: (errs, now: Node, old: Node) => {
    const cidrs = (n: Node) => n.spec?.podCIDRs ?? (n.spec?.podCIDR ? [n.spec.podCIDR] : []);
    const before = cidrs(old);
    if (before.length > 0 && !deepEqual(cidrs(now), before))
      errs.forbidden("spec.podCIDRs", NODE_CIDR);
    const oldID = old.spec?.providerID ?? "";
    if (oldID !== "" && oldID !== (now.spec?.providerID ?? "")) {
      errs.forbidden(
        "spec.providerID",
        'node updates may not change providerID except from "" to valid',
      );
    }
  },
};

// ---- dispatch -----------------------------------------------------------------------

type Validator = (errs: FieldErrors, obj: never) => void;

export const kindValidators: Record<string, Validator> = {
  Pod: validatePod,
  Service: validateService,
  Endpoints: validateEndpoints,
  EndpointSlice: validateEndpointSlice,
  ConfigMap: validateConfigMap,
  Secret: validateSecret,
  Namespace: validateNamespace,
  Node: validateNode,
  Event: validateEvent,
  Lease: validateLease,
  Deployment: validateDeployment,
  ReplicaSet: validateReplicaSet,
  DaemonSet: validateDaemonSet,
  Job: validateJob,
  HorizontalPodAutoscaler: validateHorizontalPodAutoscaler,
};

/** How metadata.name is checked: a DNS-1123 subdomain unless named here. */
export const nameChecks: Record<string, (name: string) => string[]> = {
  Namespace: isDNS1123Label,
  Service: isDNS1035Label,
};
