// PodSpec checks (Kubernetes' ValidatePodSpec and friends), used for Pods and for the pod
// templates of Deployments, ReplicaSets, DaemonSets and Jobs; and the rules of Pod updates.
// Over 600 lines because it follows Kubernetes' one ValidatePodSpec walk (containers, volumes,
// probes, scheduling) in its order; a split along containers/volumes is the next step.
import { copyJson } from "../guards.js";
import { parseQuantity } from "../quantity.js";
import type {
  Container,
  ContainerPort,
  EphemeralContainer,
  PodSpec,
  Probe,
  Toleration,
  Volume,
} from "../schemas/core.js";
import { volumeSources } from "../schemas/core.js";
import type { FieldErrors } from "./errors.js";
import { validateVolumeSource } from "./volume-sources.js";
import { validatePodSpecEnums } from "./pod-enums.js";
import { validateLabels, validateLabelSelector } from "./meta.js";
import {
  isConfigMapKey,
  isDNS1123Label,
  isDNS1123Subdomain,
  isEnvVarName,
  isIP,
  isQualifiedName,
  isValidLabelValue,
  isValidPortName,
  isValidPortNum,
  inclusiveRangeError,
} from "./names.js";

const RESTART_POLICIES = ["Always", "OnFailure", "Never"];
const DNS_POLICIES = ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"];
const PULL_POLICIES = ["Always", "IfNotPresent", "Never"];
const PROTOCOLS = ["SCTP", "TCP", "UDP"];
const TERMINATION_MESSAGE_POLICIES = ["FallbackToLogsOnError", "File"];
const TAINT_EFFECTS = ["NoExecute", "NoSchedule", "PreferNoSchedule"];
// Env vars may also use metadata.labels['key'] and metadata.annotations['key'].
const FIELD_REF_PATHS = [
  "metadata.name",
  "metadata.namespace",
  "metadata.uid",
  "spec.nodeName",
  "spec.serviceAccountName",
  "status.hostIP",
  "status.hostIPs",
  "status.podIP",
  "status.podIPs",
];
const RESOURCE_REFS = [
  "limits.cpu",
  "limits.ephemeral-storage",
  "limits.memory",
  "requests.cpu",
  "requests.ephemeral-storage",
  "requests.memory",
];

export const GE0 = "must be greater than or equal to 0";

/** A count or duration that must not be negative. */
export function nonNegative(errs: FieldErrors, value: number | undefined, path: string): void {
  if (value !== undefined && value < 0) errs.invalid(path, value, GE0);
}

/** A port given by number or by name (probes, service targetPort). */
export function validatePortNumOrName(
  errs: FieldErrors,
  port: number | string | undefined,
  path: string,
): void {
  if (typeof port === "number") errs.invalidEach(path, port, isValidPortNum(port));
  else if (port === "" || port === undefined) errs.required(path);
  else errs.invalidEach(path, port, isValidPortName(port));
}

export function validatePodSpec(
  errs: FieldErrors,
  spec: PodSpec | undefined,
  path: string,
  /** Volume names the pods will have beyond spec.volumes (mounts may name them). */
  extraVolumes: string[] = [],
): void {
  if (!spec) {
    errs.required(path);
    return;
  }
  const blockVolumes = new Set<string>();
  const volumeNames = validateVolumes(errs, spec.volumes ?? [], `${path}.volumes`, blockVolumes);
  for (const name of extraVolumes) volumeNames.add(name);
  const containerNames = new Set<string>();
  if ((spec.containers ?? []).length === 0) errs.required(`${path}.containers`);
  validateContainers(
    errs,
    spec.initContainers ?? [],
    `${path}.initContainers`,
    volumeNames,
    containerNames,
    true,
    blockVolumes,
  );
  validateContainers(
    errs,
    spec.containers ?? [],
    `${path}.containers`,
    volumeNames,
    containerNames,
    false,
    blockVolumes,
  );
  validateEphemeralContainers(errs, spec, path, volumeNames, containerNames, blockVolumes);
  validateWindowsOptions(errs, spec, path);
  validatePodSpecEnums(errs, spec, path);

  if (spec.restartPolicy !== undefined && !RESTART_POLICIES.includes(spec.restartPolicy)) {
    errs.notSupported(`${path}.restartPolicy`, spec.restartPolicy, RESTART_POLICIES);
  }
  if (spec.dnsPolicy !== undefined && !DNS_POLICIES.includes(spec.dnsPolicy)) {
    errs.notSupported(`${path}.dnsPolicy`, spec.dnsPolicy, DNS_POLICIES);
  }
  if (spec.dnsPolicy === "None" && !spec.dnsConfig) {
    errs.required(`${path}.dnsConfig`, "must provide `dnsConfig` when `dnsPolicy` is None");
  }
  validateLabels(errs, spec.nodeSelector, `${path}.nodeSelector`);
  const subdomainField = (
    field: "serviceAccountName" | "nodeName" | "schedulerName" | "priorityClassName",
  ) => {
    const v = spec[field];
    if (v) errs.invalidEach(`${path}.${field}`, v, isDNS1123Subdomain(v));
  };
  subdomainField("serviceAccountName");
  subdomainField("nodeName");
  subdomainField("schedulerName");
  subdomainField("priorityClassName");
  if (spec.hostname)
    errs.invalidEach(`${path}.hostname`, spec.hostname, isDNS1123Label(spec.hostname));
  if (spec.subdomain)
    errs.invalidEach(`${path}.subdomain`, spec.subdomain, isDNS1123Label(spec.subdomain));
  const ads = spec.activeDeadlineSeconds;
  if (ads !== undefined && (ads < 1 || ads > 2147483647)) {
    errs.invalid(`${path}.activeDeadlineSeconds`, ads, inclusiveRangeError(1, 2147483647));
  }
  validateTolerations(errs, spec.tolerations ?? [], `${path}.tolerations`);
  (spec.imagePullSecrets ?? []).forEach((s, i) => {
    if (!s.name) errs.required(`${path}.imagePullSecrets[${i}].name`);
  });
  (spec.hostAliases ?? []).forEach((h, i) => {
    const p = `${path}.hostAliases[${i}]`;
    if (!isIP(h.ip)) errs.invalid(`${p}.ip`, h.ip, "must be valid IP address");
    (h.hostnames ?? []).forEach((n) =>
      errs.invalidEach(`${p}.hostnames`, n, isDNS1123Subdomain(n)),
    );
  });
  (spec.readinessGates ?? []).forEach((g, i) => {
    errs.invalidEach(
      `${path}.readinessGates[${i}].conditionType`,
      g.conditionType,
      isQualifiedName(g.conditionType),
    );
  });
  validateTopologySpread(errs, spec, path);
  validateAffinity(errs, spec, path);
}

function validateVolumes(
  errs: FieldErrors,
  volumes: Volume[],
  path: string,
  blockVolumes: Set<string>,
): Set<string> {
  const names = new Set<string>();
  volumes.forEach((v, i) => {
    const p = `${path}[${i}]`;
    if (!v.name) errs.required(`${p}.name`);
    else {
      const msgs = isDNS1123Label(v.name);
      errs.invalidEach(`${p}.name`, v.name, msgs);
      if (names.has(v.name)) errs.duplicate(`${p}.name`, v.name);
      else if (msgs.length === 0) names.add(v.name);
    }
    const sources = volumeSources.filter((s) => v[s] !== undefined);
    if (sources.length === 0) errs.required(p, "must specify a volume type");
    for (const extra of sources.slice(1)) {
      errs.forbidden(`${p}.${extra}`, "may not specify more than 1 volume type");
    }
    if (v.hostPath && !v.hostPath.path) errs.required(`${p}.hostPath.path`);
    if (v.configMap && !v.configMap.name) errs.required(`${p}.configMap.name`);
    if (v.secret && !v.secret.secretName) errs.required(`${p}.secret.secretName`);
    if (v.persistentVolumeClaim && !v.persistentVolumeClaim.claimName)
      errs.required(`${p}.persistentVolumeClaim.claimName`);
    for (const s of sources) validateVolumeSource(errs, s, v[s]!, `${p}.${s}`);
    // Only a claim (or an ephemeral one) can be a raw block device.
    if (v.name && (v.persistentVolumeClaim || v.ephemeral)) blockVolumes.add(v.name);
  });
  return names;
}

function validateContainers(
  errs: FieldErrors,
  containers: Container[],
  path: string,
  volumeNames: Set<string>,
  allNames: Set<string>,
  init: boolean,
  blockVolumes: Set<string>,
): void {
  containers.forEach((c, i) => {
    const p = `${path}[${i}]`;
    if (!c.name) errs.required(`${p}.name`);
    else {
      errs.invalidEach(`${p}.name`, c.name, isDNS1123Label(c.name));
      if (allNames.has(c.name)) errs.duplicate(`${p}.name`, c.name);
      else allNames.add(c.name);
    }
    if (!c.image) errs.required(`${p}.image`);
    if (c.imagePullPolicy !== undefined && !PULL_POLICIES.includes(c.imagePullPolicy)) {
      errs.notSupported(`${p}.imagePullPolicy`, c.imagePullPolicy, PULL_POLICIES);
    }
    const tmp = c.terminationMessagePolicy;
    if (tmp !== undefined && !TERMINATION_MESSAGE_POLICIES.includes(tmp)) {
      errs.notSupported(`${p}.terminationMessagePolicy`, tmp, TERMINATION_MESSAGE_POLICIES);
    }
    if (c.restartPolicy !== undefined) {
      if (!init) errs.forbidden(`${p}.restartPolicy`, "may not be set for non-init containers");
      else if (c.restartPolicy !== "Always")
        errs.notSupported(`${p}.restartPolicy`, c.restartPolicy, ["Always"]);
    }
    validateContainerPorts(errs, c.ports ?? [], `${p}.ports`);
    validateEnv(errs, c, p);
    validateResources(errs, c, `${p}.resources`);
    validateVolumeMounts(errs, c, `${p}.volumeMounts`, volumeNames);
    validateVolumeDevices(errs, c, `${p}.volumeDevices`, volumeNames, blockVolumes);
    if (
      init &&
      (c.livenessProbe || c.readinessProbe || c.startupProbe) &&
      c.restartPolicy !== "Always"
    ) {
      if (c.livenessProbe)
        errs.forbidden(
          `${p}.livenessProbe`,
          "may not be set for init containers without restartPolicy=Always",
        );
      if (c.readinessProbe)
        errs.forbidden(
          `${p}.readinessProbe`,
          "may not be set for init containers without restartPolicy=Always",
        );
      if (c.startupProbe)
        errs.forbidden(
          `${p}.startupProbe`,
          "may not be set for init containers without restartPolicy=Always",
        );
    } else {
      validateProbe(errs, c.livenessProbe, `${p}.livenessProbe`, true);
      validateProbe(errs, c.readinessProbe, `${p}.readinessProbe`, false);
      validateProbe(errs, c.startupProbe, `${p}.startupProbe`, true);
    }
    for (const hook of ["postStart", "preStop"] as const) {
      const h = c.lifecycle?.[hook];
      if (h) validateHandler(errs, h, `${p}.lifecycle.${hook}`);
    }
  });
}

/** The fields an ephemeral container may not have (Kubernetes' allow-list, inverted). */
const EPHEMERAL_FORBIDDEN = [
  "ports",
  "resources",
  "restartPolicy",
  "livenessProbe",
  "readinessProbe",
  "startupProbe",
  "lifecycle",
] as const;

/**
 * spec.ephemeralContainers (Kubernetes' validateEphemeralContainers): names unique across all
 * the pod's containers, the container checks without what ephemeral containers may not have,
 * and a targetContainerName that names one of the pod's other containers.
 */
function validateEphemeralContainers(
  errs: FieldErrors,
  spec: PodSpec,
  path: string,
  volumeNames: Set<string>,
  allNames: Set<string>,
  blockVolumes: Set<string>,
): void {
  const ephemeral = spec.ephemeralContainers ?? [];
  if (ephemeral.length === 0) return;
  const others = new Set(allNames);
  const p = `${path}.ephemeralContainers`;
  ephemeral.forEach((c, i) => {
    const ip = `${p}[${i}]`;
    for (const field of EPHEMERAL_FORBIDDEN) {
      if (!isEmpty(c[field]))
        errs.forbidden(`${ip}.${field}`, "cannot be set for an Ephemeral Container");
    }
    (c.volumeMounts ?? []).forEach((m, j) => {
      if (m.subPath)
        errs.forbidden(
          `${ip}.volumeMounts[${j}].subPath`,
          "cannot be set for an Ephemeral Container",
        );
    });
    if (c.targetContainerName && !others.has(c.targetContainerName))
      errs.notFound(`${ip}.targetContainerName`, c.targetContainerName);
  });
  // The common container checks, on the fields the allow-list kept.
  const common = ephemeral.map((c: EphemeralContainer): Container => {
    const { targetContainerName: _t, ...rest } = c;
    for (const field of EPHEMERAL_FORBIDDEN) delete rest[field];
    return rest;
  });
  validateContainers(errs, common, p, volumeNames, allNames, false, blockVolumes);
}

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === "") return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === "object") return Object.values(v).every(isEmpty);
  return false;
}

/**
 * A write through pods/ephemeralcontainers (Kubernetes' ValidatePodEphemeralContainersUpdate):
 * ephemeral containers may be added, never changed or removed; static pods take none.
 */
export function validateEphemeralContainersUpdate(
  errs: FieldErrors,
  now: PodSpec | undefined,
  old: PodSpec | undefined,
  mirror: boolean,
): void {
  if (mirror) {
    errs.forbidden("", "static pods do not support ephemeral containers");
    return;
  }
  const byName = new Map((now?.ephemeralContainers ?? []).map((c) => [c.name, c]));
  for (const before of old?.ephemeralContainers ?? []) {
    const after = byName.get(before.name);
    if (!after)
      errs.forbidden(
        "spec.ephemeralContainers",
        `existing ephemeral containers ${JSON.stringify(before.name)} may not be removed`,
      );
    else if (!deepEqual(before, after))
      errs.forbidden(
        "spec.ephemeralContainers",
        `existing ephemeral containers ${JSON.stringify(before.name)} may not be changed`,
      );
  }
}

function validateContainerPorts(errs: FieldErrors, ports: ContainerPort[], path: string): void {
  const names = new Set<string>();
  ports.forEach((port, i) => {
    const p = `${path}[${i}]`;
    if (port.name) {
      const msgs = isValidPortName(port.name);
      if (msgs.length) errs.invalidEach(`${p}.name`, port.name, msgs);
      else if (names.has(port.name)) errs.duplicate(`${p}.name`, port.name);
      else names.add(port.name);
    }
    if (!port.containerPort) errs.required(`${p}.containerPort`);
    else
      errs.invalidEach(
        `${p}.containerPort`,
        port.containerPort,
        isValidPortNum(port.containerPort),
      );
    if (port.hostPort)
      errs.invalidEach(`${p}.hostPort`, port.hostPort, isValidPortNum(port.hostPort));
    if (port.protocol !== undefined && !PROTOCOLS.includes(port.protocol)) {
      errs.notSupported(`${p}.protocol`, port.protocol, PROTOCOLS);
    }
  });
}

function validateEnv(errs: FieldErrors, c: Container, path: string): void {
  (c.env ?? []).forEach((ev, i) => {
    const p = `${path}.env[${i}]`;
    if (!ev.name) errs.required(`${p}.name`);
    else errs.invalidEach(`${p}.name`, ev.name, isEnvVarName(ev.name));
    const from = ev.valueFrom;
    if (!from) return;
    const fp = `${p}.valueFrom`;
    if (ev.value) errs.invalid(fp, "", "may not be specified when `value` is not empty");
    const sources = (
      ["fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef"] as const
    ).filter((s) => from[s] !== undefined);
    if (sources.length === 0) {
      errs.invalid(
        fp,
        "",
        "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
      );
    } else if (sources.length > 1) {
      errs.invalid(fp, "", "may not have more than one field specified at a time");
    }
    if (from.fieldRef) {
      const fieldPath = from.fieldRef.fieldPath;
      const subscripted = /^metadata\.(labels|annotations)\['[^']+'\]$/.test(fieldPath);
      if (!fieldPath) errs.required(`${fp}.fieldRef.fieldPath`);
      else if (!subscripted && !FIELD_REF_PATHS.includes(fieldPath)) {
        errs.notSupported(`${fp}.fieldRef.fieldPath`, fieldPath, FIELD_REF_PATHS);
      }
    }
    if (from.resourceFieldRef) {
      const r = from.resourceFieldRef.resource;
      if (!r) errs.required(`${fp}.resourceFieldRef.resource`);
      else if (!RESOURCE_REFS.includes(r))
        errs.notSupported(`${fp}.resourceFieldRef.resource`, r, RESOURCE_REFS);
    }
    for (const ref of ["configMapKeyRef", "secretKeyRef"] as const) {
      const sel = from[ref];
      if (!sel) continue;
      if (!sel.key) errs.required(`${fp}.${ref}.key`);
      else errs.invalidEach(`${fp}.${ref}.key`, sel.key, isConfigMapKey(sel.key));
      if (!sel.name) errs.required(`${fp}.${ref}.name`);
    }
  });
  (c.envFrom ?? []).forEach((ef, i) => {
    const p = `${path}.envFrom[${i}]`;
    const n = (ef.configMapRef ? 1 : 0) + (ef.secretRef ? 1 : 0);
    if (n === 0) errs.invalid(p, "", "must specify one of: `configMapRef` or `secretRef`");
    if (n > 1) errs.invalid(p, "", "may not have more than one field specified at a time");
    if (ef.prefix) errs.invalidEach(`${p}.prefix`, ef.prefix, isEnvVarName(ef.prefix));
  });
}

function quantityValue(errs: FieldErrors, q: string | number, path: string): number | undefined {
  try {
    const v = parseQuantity(q);
    if (v < 0) {
      errs.invalid(path, q, GE0);
      return undefined;
    }
    return v;
  } catch (e) {
    errs.invalid(path, q, e instanceof Error ? e.message : String(e));
    return undefined;
  }
}

function validateResources(errs: FieldErrors, c: Container, path: string): void {
  const limits = c.resources?.limits ?? {};
  const requests = c.resources?.requests ?? {};
  const limitValues = new Map<string, number>();
  for (const [name, q] of Object.entries(limits)) {
    errs.invalidEach(`${path}.limits[${name}]`, name, isQualifiedName(name));
    const v = quantityValue(errs, q, `${path}.limits[${name}]`);
    if (v !== undefined) limitValues.set(name, v);
  }
  for (const [name, q] of Object.entries(requests)) {
    const p = `${path}.requests[${name}]`;
    errs.invalidEach(p, name, isQualifiedName(name));
    const v = quantityValue(errs, q, p);
    const limit = limitValues.get(name);
    if (v !== undefined && limit !== undefined && v > limit) {
      errs.invalid(
        p,
        String(q),
        `must be less than or equal to ${name} limit of ${String(limits[name])}`,
      );
    }
  }
}

function validateVolumeMounts(
  errs: FieldErrors,
  c: Container,
  path: string,
  volumes: Set<string>,
): void {
  const paths = new Set<string>();
  (c.volumeMounts ?? []).forEach((m, i) => {
    const p = `${path}[${i}]`;
    if (!m.name) errs.required(`${p}.name`);
    else if (!volumes.has(m.name)) errs.notFound(`${p}.name`, m.name);
    if (!m.mountPath) errs.required(`${p}.mountPath`);
    else if (paths.has(m.mountPath)) errs.invalid(`${p}.mountPath`, m.mountPath, "must be unique");
    else paths.add(m.mountPath);
    if (m.subPath && (m.subPath.startsWith("/") || m.subPath.split("/").includes(".."))) {
      errs.invalid(`${p}.subPath`, m.subPath, "must be a relative path without '..'");
    }
  });
}

function validateVolumeDevices(
  errs: FieldErrors,
  c: Container,
  path: string,
  volumes: Set<string>,
  blockVolumes: Set<string>,
): void {
  const devicePaths = new Set<string>();
  const mountPaths = new Set((c.volumeMounts ?? []).map((m) => m.mountPath));
  const mounted = new Set((c.volumeMounts ?? []).map((m) => m.name));
  (c.volumeDevices ?? []).forEach((d, i) => {
    const p = `${path}[${i}]`;
    if (!d.name) errs.required(`${p}.name`);
    else if (!volumes.has(d.name)) errs.notFound(`${p}.name`, d.name);
    else if (!blockVolumes.has(d.name))
      errs.invalid(
        `${p}.name`,
        d.name,
        "can only use volume source type of PersistentVolumeClaim or Ephemeral for block mode",
      );
    else if (mounted.has(d.name))
      errs.invalid(`${p}.name`, d.name, "must not already exist in volumeMounts");
    if (!d.devicePath) errs.required(`${p}.devicePath`);
    else if (devicePaths.has(d.devicePath))
      errs.invalid(`${p}.devicePath`, d.devicePath, "must be unique");
    else if (d.devicePath.split("/").includes(".."))
      errs.invalid(`${p}.devicePath`, d.devicePath, "can not contain '..'");
    else if (mountPaths.has(d.devicePath))
      errs.invalid(
        `${p}.devicePath`,
        d.devicePath,
        "must not already exist as a path in volumeMounts",
      );
    devicePaths.add(d.devicePath);
  });
}

/**
 * Windows options are stored, never acted on (Skiff's nodes are Linux): refused for a pod
 * that says it is Linux, and a HostProcess pod must use the host network, as in 1.31.
 */
function validateWindowsOptions(errs: FieldErrors, spec: PodSpec, path: string): void {
  const options = [
    { at: `${path}.securityContext.windowsOptions`, w: spec.securityContext?.windowsOptions },
    ...[
      ["initContainers", spec.initContainers ?? []] as const,
      ["containers", spec.containers ?? []] as const,
    ].flatMap(([field, list]) =>
      list.map((c, i) => ({
        at: `${path}.${field}[${i}].securityContext.windowsOptions`,
        w: c.securityContext?.windowsOptions,
      })),
    ),
  ].filter((o) => o.w !== undefined);
  if (spec.os?.name === "linux") {
    for (const o of options) errs.forbidden(o.at, "windows options cannot be set for a linux pod");
    return;
  }
  const hostProcess = options.some((o) => o.w?.hostProcess === true);
  if (hostProcess && !spec.hostNetwork)
    errs.invalid(
      `${path}.hostNetwork`,
      spec.hostNetwork ?? false,
      "hostNetwork must be true if pod contains any hostProcess containers",
    );
}

type Handler = Pick<Probe, "exec" | "httpGet" | "tcpSocket" | "grpc"> & {
  sleep?: { seconds: number };
};

function validateHandler(errs: FieldErrors, h: Handler, path: string): void {
  const kinds = (["exec", "httpGet", "tcpSocket", "grpc", "sleep"] as const).filter(
    (k) => h[k] !== undefined,
  );
  if (kinds.length === 0) {
    errs.required(path, "must specify a handler type");
    return;
  }
  for (const extra of kinds.slice(1))
    errs.forbidden(`${path}.${extra}`, "may not specify more than 1 handler type");
  if (h.exec && (h.exec.command ?? []).length === 0) errs.required(`${path}.exec.command`);
  if (h.httpGet) {
    validatePortNumOrName(errs, h.httpGet.port, `${path}.httpGet.port`);
    const scheme = h.httpGet.scheme;
    if (scheme !== undefined && scheme !== "HTTP" && scheme !== "HTTPS") {
      errs.notSupported(`${path}.httpGet.scheme`, scheme, ["HTTP", "HTTPS"]);
    }
  }
  if (h.tcpSocket) validatePortNumOrName(errs, h.tcpSocket.port, `${path}.tcpSocket.port`);
  if (h.grpc) errs.invalidEach(`${path}.grpc.port`, h.grpc.port, isValidPortNum(h.grpc.port));
  if (h.sleep && h.sleep.seconds < 0) errs.invalid(`${path}.sleep.seconds`, h.sleep.seconds, GE0);
}

function validateProbe(
  errs: FieldErrors,
  probe: Probe | undefined,
  path: string,
  mustSucceedOnce: boolean,
): void {
  if (!probe) return;
  validateHandler(errs, probe, path);
  nonNegative(errs, probe.initialDelaySeconds, `${path}.initialDelaySeconds`);
  nonNegative(errs, probe.timeoutSeconds, `${path}.timeoutSeconds`);
  nonNegative(errs, probe.periodSeconds, `${path}.periodSeconds`);
  nonNegative(errs, probe.successThreshold, `${path}.successThreshold`);
  nonNegative(errs, probe.failureThreshold, `${path}.failureThreshold`);
  if (mustSucceedOnce && probe.successThreshold !== undefined && probe.successThreshold !== 1) {
    errs.invalid(`${path}.successThreshold`, probe.successThreshold, "must be 1");
  }
  const tgps = probe.terminationGracePeriodSeconds;
  if (tgps !== undefined && tgps <= 0)
    errs.invalid(`${path}.terminationGracePeriodSeconds`, tgps, "must be greater than 0");
}

function validateTolerations(errs: FieldErrors, tolerations: Toleration[], path: string): void {
  tolerations.forEach((t, i) => {
    const p = `${path}[${i}]`;
    if (t.key) errs.invalidEach(`${p}.key`, t.key, isQualifiedName(t.key));
    if (!t.key && t.operator !== "Exists") {
      errs.invalid(
        `${p}.operator`,
        t.operator ?? "",
        'operator must be Exists when `key` is empty, which means "match all values and all keys"',
      );
    }
    if (t.tolerationSeconds !== undefined && t.effect !== "NoExecute") {
      errs.invalid(
        `${p}.effect`,
        t.effect ?? "",
        "effect must be 'NoExecute' when `tolerationSeconds` is set",
      );
    }
    switch (t.operator) {
      case undefined:
      case "":
      case "Equal":
        if (t.value) errs.invalidEach(`${p}.operator`, t.value, isValidLabelValue(t.value));
        break;
      case "Exists":
        if (t.value)
          errs.invalid(`${p}.operator`, t.value, "value must be empty when `operator` is 'Exists'");
        break;
      default:
        errs.notSupported(`${p}.operator`, t.operator, ["Equal", "Exists"]);
    }
    if (t.effect && !TAINT_EFFECTS.includes(t.effect))
      errs.notSupported(`${p}.effect`, t.effect, TAINT_EFFECTS);
  });
}

function validateTopologySpread(errs: FieldErrors, spec: PodSpec, path: string): void {
  const seen = new Set<string>();
  (spec.topologySpreadConstraints ?? []).forEach((c, i) => {
    const p = `${path}.topologySpreadConstraints[${i}]`;
    if (c.maxSkew <= 0) errs.invalid(`${p}.maxSkew`, c.maxSkew, "must be greater than zero");
    if (!c.topologyKey) errs.required(`${p}.topologyKey`, "can not be empty");
    else errs.invalidEach(`${p}.topologyKey`, c.topologyKey, isQualifiedName(c.topologyKey));
    const when = ["DoNotSchedule", "ScheduleAnyway"];
    if (!when.includes(c.whenUnsatisfiable))
      errs.notSupported(`${p}.whenUnsatisfiable`, c.whenUnsatisfiable, when);
    const key = `{${c.topologyKey}, ${c.whenUnsatisfiable}}`;
    if (seen.has(key)) errs.duplicate(p, key);
    seen.add(key);
    validateLabelSelector(errs, c.labelSelector, `${p}.labelSelector`);
  });
}

const NODE_SELECTOR_OPERATORS = ["DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn"];

function validateAffinity(errs: FieldErrors, spec: PodSpec, path: string): void {
  const a = spec.affinity;
  if (!a) return;
  const ap = `${path}.affinity`;
  const checkRequirement = (r: { key: string; operator: string; values?: string[] }, p: string) => {
    const values = r.values ?? [];
    if (r.operator === "In" || r.operator === "NotIn") {
      if (values.length === 0)
        errs.required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'");
    } else if (r.operator === "Exists" || r.operator === "DoesNotExist") {
      if (values.length > 0)
        errs.forbidden(
          `${p}.values`,
          "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
        );
    } else if (r.operator === "Gt" || r.operator === "Lt") {
      if (values.length !== 1 || !/^-?[0-9]+$/.test(values[0] ?? ""))
        errs.required(
          `${p}.values`,
          "must be specified single value when `operator` is 'Lt' or 'Gt'",
        );
    } else {
      errs.notSupported(`${p}.operator`, r.operator, NODE_SELECTOR_OPERATORS);
    }
    // A key left out (the schema does not make it required) is Kubernetes' empty string.
    const key = (r.key as string | undefined) ?? "";
    errs.invalidEach(`${p}.key`, key, isQualifiedName(key));
  };
  const term = (
    t: { matchExpressions?: { key: string; operator: string; values?: string[] }[] },
    p: string,
  ) =>
    (t.matchExpressions ?? []).forEach((r, i) =>
      checkRequirement(r, `${p}.matchExpressions[${i}]`),
    );

  const na = a.nodeAffinity;
  const required = na?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required) {
    const rp = `${ap}.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution`;
    if (required.nodeSelectorTerms.length === 0)
      errs.required(`${rp}.nodeSelectorTerms`, "must have at least one node selector term");
    required.nodeSelectorTerms.forEach((t, i) => term(t, `${rp}.nodeSelectorTerms[${i}]`));
  }
  (na?.preferredDuringSchedulingIgnoredDuringExecution ?? []).forEach((t, i) => {
    const p = `${ap}.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[${i}]`;
    if (t.weight < 1 || t.weight > 100)
      errs.invalid(`${p}.weight`, t.weight, "must be in the range 1-100");
    term(t.preference, `${p}.preference`);
  });
  for (const kind of ["podAffinity", "podAntiAffinity"] as const) {
    const pa = a[kind];
    if (!pa) continue;
    const kp = `${ap}.${kind}`;
    const affinityTerm = (
      t: { topologyKey: string; labelSelector?: Parameters<typeof validateLabelSelector>[1] },
      p: string,
    ) => {
      if (!t.topologyKey) errs.required(`${p}.topologyKey`, "can not be empty");
      else errs.invalidEach(`${p}.topologyKey`, t.topologyKey, isQualifiedName(t.topologyKey));
      validateLabelSelector(errs, t.labelSelector, `${p}.labelSelector`);
    };
    (pa.requiredDuringSchedulingIgnoredDuringExecution ?? []).forEach((t, i) =>
      affinityTerm(t, `${kp}.requiredDuringSchedulingIgnoredDuringExecution[${i}]`),
    );
    (pa.preferredDuringSchedulingIgnoredDuringExecution ?? []).forEach((t, i) => {
      const p = `${kp}.preferredDuringSchedulingIgnoredDuringExecution[${i}]`;
      if (t.weight < 1 || t.weight > 100)
        errs.invalid(`${p}.weight`, t.weight, "must be in the range 1-100");
      affinityTerm(t.podAffinityTerm, `${p}.podAffinityTerm`);
    });
  }
}

const POD_UPDATE_MESSAGE =
  "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/** What an update may change in a pod's spec (Kubernetes' ValidatePodUpdate). */
export function validatePodSpecUpdate(
  errs: FieldErrors,
  spec: PodSpec | undefined,
  old: PodSpec | undefined,
): void {
  if (!spec || !old) return;
  for (const field of ["containers", "initContainers"] as const) {
    const now = spec[field] ?? [];
    const before = old[field] ?? [];
    if (now.length !== before.length) {
      errs.forbidden(`spec.${field}`, "pod updates may not add or remove containers");
      return;
    }
    now.forEach((c, i) => {
      if (!c.image) errs.required(`spec.${field}[${i}].image`);
      else if (c.image.trim() !== c.image)
        errs.invalid(
          `spec.${field}[${i}].image`,
          c.image,
          "must not have leading or trailing whitespace",
        );
    });
  }
  const ads = spec.activeDeadlineSeconds;
  if (ads !== undefined) {
    if (ads < 0 || ads > 2147483647)
      errs.invalid("spec.activeDeadlineSeconds", ads, inclusiveRangeError(0, 2147483647));
    else if (old.activeDeadlineSeconds !== undefined && old.activeDeadlineSeconds < ads)
      errs.invalid(
        "spec.activeDeadlineSeconds",
        ads,
        "must be less than or equal to previous value",
      );
  } else if (old.activeDeadlineSeconds !== undefined) {
    errs.invalid(
      "spec.activeDeadlineSeconds",
      null,
      "must not update from a positive integer to nil value",
    );
  }
  // Tolerations may only be added; a NoExecute toleration's seconds may only shrink.
  for (const t of old.tolerations ?? []) {
    const kept = (spec.tolerations ?? []).some(
      (n) =>
        (n.key ?? "") === (t.key ?? "") &&
        (n.operator ?? "") === (t.operator ?? "") &&
        (n.value ?? "") === (t.value ?? "") &&
        (n.effect ?? "") === (t.effect ?? "") &&
        (n.tolerationSeconds === t.tolerationSeconds ||
          (t.effect === "NoExecute" &&
            t.tolerationSeconds !== undefined &&
            n.tolerationSeconds !== undefined &&
            n.tolerationSeconds <= t.tolerationSeconds)),
    );
    if (!kept) {
      errs.forbidden(
        "spec.tolerations",
        "existing toleration can not be modified except its tolerationSeconds",
      );
      break;
    }
  }
  // Scheduling gates may only be removed (whoever added them lifts them, then the pod is scheduled).
  const gates = new Set((old.schedulingGates ?? []).map((g) => g.name));
  for (const g of spec.schedulingGates ?? []) {
    if (!gates.has(g.name))
      errs.forbidden(
        "spec.schedulingGates",
        `only deletion is allowed, but found new scheduling gate '${g.name}'`,
      );
  }
  // Everything else must be as it was.
  const munged: PodSpec = copyJson(spec);
  for (const field of ["containers", "initContainers"] as const) {
    const before = old[field];
    munged[field]?.forEach((c, i) => {
      const image = before?.[i]?.image;
      if (image === undefined) delete c.image;
      else c.image = image;
    });
  }
  setOrDelete(munged, "activeDeadlineSeconds", old.activeDeadlineSeconds);
  setOrDelete(munged, "tolerations", old.tolerations);
  setOrDelete(munged, "schedulingGates", old.schedulingGates);
  const oldGrace = old.terminationGracePeriodSeconds;
  if (oldGrace !== undefined && oldGrace < 0 && munged.terminationGracePeriodSeconds === 1) {
    munged.terminationGracePeriodSeconds = oldGrace;
  }
  if (!deepEqual(munged, old)) errs.forbidden("spec", POD_UPDATE_MESSAGE);
}

function setOrDelete<K extends keyof PodSpec>(spec: PodSpec, key: K, value: PodSpec[K]): void {
  if (value === undefined) delete spec[key];
  else spec[key] = value;
}

/** JSON equality, ignoring key order. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (
    typeof a === "object" &&
    a !== null &&
    typeof b === "object" &&
    b !== null &&
    !Array.isArray(b)
  ) {
    const ra = a as Record<string, unknown>;
    const rb = b as Record<string, unknown>;
    const ka = Object.keys(ra).filter((k) => ra[k] !== undefined);
    const kb = Object.keys(rb).filter((k) => rb[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(ra[k], rb[k]));
  }
  return false;
}
