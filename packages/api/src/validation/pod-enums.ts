// The closed sets of values Kubernetes 1.31 checks in a pod spec beyond pod.ts: security
// profiles, proc mounts, fsGroup change policy, mount propagation, hostPath types,
// preemption and topology-spread policies, and node field selectors.
import type { Container, PodSpec } from "../schemas/core.js";
import type { FieldErrors } from "./errors.js";

const PROFILE_TYPES = ["Localhost", "RuntimeDefault", "Unconfined"];
const PROC_MOUNTS = ["Default", "Unmasked"];
const FS_GROUP_CHANGE_POLICIES = ["OnRootMismatch", "Always"];
const PROPAGATIONS = ["Bidirectional", "HostToContainer", "None"];
/** hostPath volume types (a pod's or a PersistentVolume's); "" checks nothing. */
export const HOST_PATH_TYPES = [
  "",
  "BlockDevice",
  "CharDevice",
  "Directory",
  "DirectoryOrCreate",
  "File",
  "FileOrCreate",
  "Socket",
];
const PREEMPTION_POLICIES = ["Never", "PreemptLowerPriority"];
const SPREAD_POLICIES = ["Honor", "Ignore"];

interface Profile {
  type: string;
  localhostProfile?: string;
}

/** A seccomp or AppArmor profile: a known type; a localhost profile exactly for Localhost. */
function validateProfile(errs: FieldErrors, p: Profile | undefined, path: string, what: string) {
  if (!p) return;
  if (!PROFILE_TYPES.includes(p.type)) errs.notSupported(`${path}.type`, p.type, PROFILE_TYPES);
  if (p.type === "Localhost" && !p.localhostProfile)
    errs.required(`${path}.localhostProfile`, `must be set when ${what} type is Localhost`);
  else if (p.type !== "Localhost" && p.localhostProfile !== undefined)
    errs.invalid(
      `${path}.localhostProfile`,
      p.localhostProfile,
      `can only be set when ${what} type is Localhost`,
    );
}

function validateContainerEnums(errs: FieldErrors, c: Container, path: string): void {
  const sc = c.securityContext;
  validateProfile(errs, sc?.seccompProfile, `${path}.securityContext.seccompProfile`, "seccomp");
  validateProfile(errs, sc?.appArmorProfile, `${path}.securityContext.appArmorProfile`, "AppArmor");
  if (sc?.procMount !== undefined && !PROC_MOUNTS.includes(sc.procMount))
    errs.notSupported(`${path}.securityContext.procMount`, sc.procMount, PROC_MOUNTS);
  (c.volumeMounts ?? []).forEach((m, i) => {
    const p = `${path}.volumeMounts[${i}].mountPropagation`;
    if (m.mountPropagation === undefined) return;
    if (!PROPAGATIONS.includes(m.mountPropagation))
      errs.notSupported(p, m.mountPropagation, PROPAGATIONS);
    else if (m.mountPropagation === "Bidirectional" && sc?.privileged !== true)
      errs.forbidden(
        p,
        "Bidirectional mount propagation is available only to privileged containers",
      );
  });
}

type FieldRequirement = { key: string; operator: string; values?: string[] };

/** matchFields of a node selector term: only metadata.name, In or NotIn, one value. */
function validateFieldRequirements(errs: FieldErrors, reqs: FieldRequirement[], path: string) {
  reqs.forEach((r, i) => {
    const p = `${path}.matchFields[${i}]`;
    if (r.operator !== "In" && r.operator !== "NotIn")
      errs.invalid(`${p}.operator`, r.operator, "not a valid selector operator");
    else if ((r.values ?? []).length !== 1)
      errs.required(
        `${p}.values`,
        "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
      );
    if (r.key !== "metadata.name") errs.notSupported(`${p}.key`, r.key, ["metadata.name"]);
  });
}

export function validatePodSpecEnums(errs: FieldErrors, spec: PodSpec, path: string): void {
  const sc = spec.securityContext;
  validateProfile(errs, sc?.seccompProfile, `${path}.securityContext.seccompProfile`, "seccomp");
  validateProfile(errs, sc?.appArmorProfile, `${path}.securityContext.appArmorProfile`, "AppArmor");
  const fsPolicy = sc?.fsGroupChangePolicy;
  if (fsPolicy !== undefined && !FS_GROUP_CHANGE_POLICIES.includes(fsPolicy))
    errs.notSupported(
      `${path}.securityContext.fsGroupChangePolicy`,
      fsPolicy,
      FS_GROUP_CHANGE_POLICIES,
    );
  for (const field of ["initContainers", "containers"] as const)
    (spec[field] ?? []).forEach((c, i) =>
      validateContainerEnums(errs, c, `${path}.${field}[${i}]`),
    );
  (spec.volumes ?? []).forEach((v, i) => {
    const type = v.hostPath?.type;
    if (type !== undefined && !HOST_PATH_TYPES.includes(type))
      errs.notSupported(`${path}.volumes[${i}].hostPath.type`, type, HOST_PATH_TYPES);
  });
  if (spec.preemptionPolicy !== undefined && !PREEMPTION_POLICIES.includes(spec.preemptionPolicy))
    errs.notSupported(`${path}.preemptionPolicy`, spec.preemptionPolicy, PREEMPTION_POLICIES);
  (spec.topologySpreadConstraints ?? []).forEach((c, i) => {
    for (const field of ["nodeAffinityPolicy", "nodeTaintsPolicy"] as const) {
      const v = c[field];
      if (v !== undefined && !SPREAD_POLICIES.includes(v))
        errs.notSupported(`${path}.topologySpreadConstraints[${i}].${field}`, v, SPREAD_POLICIES);
    }
  });
  const na = spec.affinity?.nodeAffinity;
  const ap = `${path}.affinity.nodeAffinity`;
  (na?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []).forEach((t, i) =>
    validateFieldRequirements(
      errs,
      t.matchFields ?? [],
      `${ap}.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[${i}]`,
    ),
  );
  (na?.preferredDuringSchedulingIgnoredDuringExecution ?? []).forEach((t, i) =>
    validateFieldRequirements(
      errs,
      t.preference.matchFields ?? [],
      `${ap}.preferredDuringSchedulingIgnoredDuringExecution[${i}].preference`,
    ),
  );
}
