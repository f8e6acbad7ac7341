// Discovery documents: /version, /api, /apis, /api/v1 and /apis/{group}/{version}, in the
// legacy format that every kubectl version understands, and /api and /apis in the aggregated
// format (apidiscovery.k8s.io/v2, v2beta1) that kubectl 1.26+ asks for first.
import { createHash } from "node:crypto";
import {
  apiVersionOf,
  compareKubeVersions,
  resources,
  type APIResource,
  type APIResourceList,
  type ResourceInfo,
} from "@skiff/api";

export const KUBERNETES_VERSION = { major: "1", minor: "31", patch: "0" };

export function versionInfo(): Record<string, string> {
  return {
    major: KUBERNETES_VERSION.major,
    minor: KUBERNETES_VERSION.minor,
    gitVersion: `v${KUBERNETES_VERSION.major}.${KUBERNETES_VERSION.minor}.${KUBERNETES_VERSION.patch}-skiff`,
    gitCommit: "skiff",
    gitTreeState: "clean",
    buildDate: "2026-01-01T00:00:00Z",
    goVersion: `node${process.versions.node}`,
    compiler: "tsc",
    platform: `${process.platform}/${process.arch === "x64" ? "amd64" : process.arch}`,
  };
}

const VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

const SUBRESOURCE_VERBS: Record<
  string,
  { kind: string; group?: string; version?: string; verbs: string[] }
> = {
  status: { kind: "", verbs: ["get", "patch", "update"] },
  scale: { kind: "Scale", group: "autoscaling", version: "v1", verbs: ["get", "patch", "update"] },
  binding: { kind: "Binding", verbs: ["create"] },
  log: { kind: "Pod", verbs: ["get"] },
  exec: { kind: "PodExecOptions", verbs: ["create", "get"] },
  attach: { kind: "PodAttachOptions", verbs: ["create", "get"] },
  ephemeralcontainers: { kind: "", verbs: ["get", "patch", "update"] },
  portforward: { kind: "PodPortForwardOptions", verbs: ["create", "get"] },
  proxy: { kind: "NodeProxyOptions", verbs: ["get"] },
  eviction: { kind: "Eviction", group: "policy", version: "v1", verbs: ["create"] },
  token: { kind: "TokenRequest", group: "authentication.k8s.io", version: "v1", verbs: ["create"] },
};

/** Resources served without storage: create-only reviews. */
interface VirtualResource {
  group: string;
  version: string;
  resource: string;
  singular: string;
  kind: string;
  verbs: string[];
  namespaced?: boolean;
}

const review = (resource: string, kind: string, namespaced = false): VirtualResource => ({
  group: "authorization.k8s.io",
  version: "v1",
  resource,
  singular: resource.slice(0, -1),
  kind,
  verbs: ["create"],
  namespaced,
});

const VIRTUAL: VirtualResource[] = [
  {
    group: "authentication.k8s.io",
    version: "v1",
    resource: "selfsubjectreviews",
    singular: "selfsubjectreview",
    kind: "SelfSubjectReview",
    verbs: ["create"],
  },
  review("localsubjectaccessreviews", "LocalSubjectAccessReview", true),
  review("selfsubjectaccessreviews", "SelfSubjectAccessReview"),
  review("selfsubjectrulesreviews", "SelfSubjectRulesReview"),
  review("subjectaccessreviews", "SubjectAccessReview"),
  {
    group: "authentication.k8s.io",
    version: "v1",
    resource: "tokenreviews",
    singular: "tokenreview",
    kind: "TokenReview",
    verbs: ["create"],
  },
];

/**
 * Every group/version served, core first, stored kinds' groups before review-only ones; a
 * group's versions are listed together, preferred first (custom resources may serve several).
 */
function servedGroupVersions(all: readonly ResourceInfo[]): { group: string; version: string }[] {
  const byGroup = new Map<string, Set<string>>();
  for (const r of all) {
    const versions = byGroup.get(r.group) ?? new Set<string>();
    versions.add(r.version);
    byGroup.set(r.group, versions);
  }
  const out: { group: string; version: string }[] = [];
  for (const [group, versions] of byGroup) {
    for (const version of [...versions].sort(compareKubeVersions)) out.push({ group, version });
  }
  for (const v of VIRTUAL) {
    if (!out.some((gv) => gv.group === v.group && gv.version === v.version))
      out.push({ group: v.group, version: v.version });
  }
  return out;
}

export function apiVersions(serverAddress: string): object {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

/** One group's legacy discovery entry: its versions, the preferred (first) one named. */
function groupEntry(all: readonly ResourceInfo[], group: string): object | undefined {
  const versions = servedGroupVersions(all)
    .filter((gv) => gv.group === group)
    .map((gv) => ({ groupVersion: `${gv.group}/${gv.version}`, version: gv.version }));
  if (!versions.length) return undefined;
  return { name: group, versions, preferredVersion: versions[0] };
}

export function apiGroupList(all: readonly ResourceInfo[] = resources): object {
  const names = [...new Set(servedGroupVersions(all).map((gv) => gv.group))].filter((g) => g);
  const groups = names.map((g) => groupEntry(all, g)!);
  return { kind: "APIGroupList", apiVersion: "v1", groups };
}

export function apiGroup(
  group: string,
  all: readonly ResourceInfo[] = resources,
): object | undefined {
  if (group === "") return undefined;
  const entry = groupEntry(all, group);
  return entry && { kind: "APIGroup", apiVersion: "v1", ...entry };
}

export function apiResourceList(
  group: string,
  version: string,
  all: readonly ResourceInfo[] = resources,
): APIResourceList | undefined {
  const here = all.filter((r) => r.group === group && r.version === version);
  const virtual = VIRTUAL.filter((r) => r.group === group && r.version === version);
  if (here.length === 0 && virtual.length === 0) return undefined;
  const list: APIResource[] = [];
  for (const r of here) {
    list.push(resourceEntry(r));
    for (const sub of r.subresources) {
      const s = SUBRESOURCE_VERBS[sub]!;
      list.push({
        name: `${r.resource}/${sub}`,
        singularName: "",
        namespaced: r.namespaced,
        kind: s.kind || r.kind,
        ...(s.group ? { group: s.group, version: s.version } : {}),
        verbs: s.verbs,
      });
    }
  }
  for (const v of virtual) {
    list.push({
      name: v.resource,
      singularName: v.singular,
      namespaced: v.namespaced ?? false,
      kind: v.kind,
      verbs: v.verbs,
    });
  }
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: apiVersionOf({ group, version }),
    resources: list,
  };
}

function resourceEntry(r: ResourceInfo): APIResource {
  const entry: APIResource = {
    name: r.resource,
    singularName: r.singular,
    namespaced: r.namespaced,
    kind: r.kind,
    verbs: VERBS,
  };
  if (r.shortNames.length) entry.shortNames = r.shortNames;
  if (r.categories.length) entry.categories = r.categories;
  return entry;
}

// ---- aggregated discovery -----------------------------------------------------------

export const AGGREGATED_VERSIONS = ["v2", "v2beta1"] as const;
export type AggregatedVersion = (typeof AGGREGATED_VERSIONS)[number];

/** The aggregated discovery media type for a version, as the response's Content-Type. */
export function aggregatedContentType(v: AggregatedVersion): string {
  return `application/json;g=apidiscovery.k8s.io;v=${v};as=APIGroupDiscoveryList`;
}

/**
 * Which representation the Accept header asks for first: an aggregated version, or legacy
 * ("application/json" or anything else acceptable). Options are taken in order.
 */
export function discoveryFormat(accept: string | undefined): AggregatedVersion | "legacy" {
  for (const option of (accept ?? "").split(",")) {
    const [type, ...rest] = option.split(";").map((x) => x.trim().toLowerCase());
    const params = new Map(rest.map((p) => p.split("=") as [string, string]));
    if (type !== "application/json") continue;
    if (!params.has("g") && !params.has("as")) return "legacy";
    if (params.get("g") !== "apidiscovery.k8s.io" || params.get("as") !== "apigroupdiscoverylist")
      continue;
    const v = params.get("v");
    if (v === "v2" || v === "v2beta1") return v;
  }
  return "legacy";
}

function aggregatedResource(r: ResourceInfo): Record<string, unknown> {
  const entry: Record<string, unknown> = {
    resource: r.resource,
    responseKind: { group: r.group, version: r.version, kind: r.kind },
    scope: r.namespaced ? "Namespaced" : "Cluster",
    singularResource: r.singular,
    verbs: VERBS,
  };
  if (r.shortNames.length) entry.shortNames = r.shortNames;
  if (r.categories.length) entry.categories = r.categories;
  if (r.subresources.length) {
    entry.subresources = r.subresources.map((sub) => {
      const s = SUBRESOURCE_VERBS[sub]!;
      return {
        subresource: sub,
        responseKind: {
          group: s.group ?? r.group,
          version: s.version ?? r.version,
          kind: s.kind || r.kind,
        },
        verbs: s.verbs,
      };
    });
  }
  return entry;
}

/** The aggregated document for /api (core) or /apis (every named group). */
export function aggregatedDiscovery(
  core: boolean,
  v: AggregatedVersion,
  all: readonly ResourceInfo[] = resources,
): object {
  const versionsOf = (gv: { group: string; version: string }) => {
    const list: Record<string, unknown>[] = all
      .filter((r) => r.group === gv.group && r.version === gv.version)
      .map(aggregatedResource);
    for (const x of VIRTUAL.filter((r) => r.group === gv.group && r.version === gv.version)) {
      list.push({
        resource: x.resource,
        responseKind: { group: x.group, version: x.version, kind: x.kind },
        scope: x.namespaced ? "Namespaced" : "Cluster",
        singularResource: x.singular,
        verbs: x.verbs,
      });
    }
    return { version: gv.version, resources: list, freshness: "Current" };
  };
  const gvs = servedGroupVersions(all).filter((gv) => (gv.group === "") === core);
  const groups = [...new Set(gvs.map((gv) => gv.group))];
  const items = groups.map((group) => ({
    metadata: core ? { creationTimestamp: null } : { name: group, creationTimestamp: null },
    versions: gvs.filter((gv) => gv.group === group).map(versionsOf),
  }));
  return {
    kind: "APIGroupDiscoveryList",
    apiVersion: `apidiscovery.k8s.io/${v}`,
    metadata: {},
    items,
  };
}

/**
 * One version of a group in the aggregated form, from its legacy APIResourceList: for the
 * groups served beside the registry (metrics.k8s.io, autoscaling/v1), so that clients that
 * read only the aggregated documents (kubectl 1.30+) find them too.
 */
export function aggregatedVersion(list: APIResourceList) {
  const [group, version] = list.groupVersion.split("/") as [string, string];
  return {
    version,
    freshness: "Current",
    resources: list.resources.map((r) => ({
      resource: r.name,
      responseKind: { group, version, kind: r.kind },
      scope: r.namespaced ? "Namespaced" : "Cluster",
      singularResource: r.singularName,
      verbs: r.verbs,
      ...(r.shortNames?.length ? { shortNames: r.shortNames } : {}),
      ...(r.categories?.length ? { categories: r.categories } : {}),
    })),
  };
}

/** A strong ETag for a document: the hash of its bytes, quoted as HTTP wants. */
export function etagOf(data: string | Buffer): string {
  return `"${createHash("sha256").update(data).digest("hex").slice(0, 32)}"`;
}
