// Discovery documents: /version, /api, /apis, /api/v1 and /apis/{group}/{version}, in the
// legacy format that every kubectl version understands, and /api and /apis in the aggregated
// format (apidiscovery.k8s.io/v2, v2beta1) that kubectl 1.26+ asks for first.
import { createHash } from "node:crypto";
import { apiVersionOf, groupVersions, resources, type ResourceInfo } from "@skiff/api";

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
}

const VIRTUAL: VirtualResource[] = [
  {
    group: "authentication.k8s.io",
    version: "v1",
    resource: "selfsubjectreviews",
    singular: "selfsubjectreview",
    kind: "SelfSubjectReview",
    verbs: ["create"],
  },
  {
    group: "authentication.k8s.io",
    version: "v1",
    resource: "tokenreviews",
    singular: "tokenreview",
    kind: "TokenReview",
    verbs: ["create"],
  },
];

/** Every group/version served, core first, stored kinds' groups before review-only ones. */
function servedGroupVersions(): { group: string; version: string }[] {
  const out = groupVersions();
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

export function apiGroupList(): object {
  const groups = servedGroupVersions()
    .filter((gv) => gv.group !== "")
    .map((gv) => {
      const groupVersion = `${gv.group}/${gv.version}`;
      return {
        name: gv.group,
        versions: [{ groupVersion, version: gv.version }],
        preferredVersion: { groupVersion, version: gv.version },
      };
    });
  return { kind: "APIGroupList", apiVersion: "v1", groups };
}

export function apiGroup(group: string): object | undefined {
  const gv = servedGroupVersions().find((g) => g.group === group);
  if (!gv || group === "") return undefined;
  const groupVersion = `${gv.group}/${gv.version}`;
  return {
    kind: "APIGroup",
    apiVersion: "v1",
    name: group,
    versions: [{ groupVersion, version: gv.version }],
    preferredVersion: { groupVersion, version: gv.version },
  };
}

export function apiResourceList(group: string, version: string): object | undefined {
  const here = resources.filter((r) => r.group === group && r.version === version);
  const virtual = VIRTUAL.filter((r) => r.group === group && r.version === version);
  if (here.length === 0 && virtual.length === 0) return undefined;
  const list: object[] = [];
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
      namespaced: false,
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

function resourceEntry(r: ResourceInfo): object {
  const entry: Record<string, unknown> = {
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
export function aggregatedDiscovery(core: boolean, v: AggregatedVersion): object {
  const items = servedGroupVersions()
    .filter((gv) => (gv.group === "") === core)
    .map((gv) => {
      const list: Record<string, unknown>[] = resources
        .filter((r) => r.group === gv.group && r.version === gv.version)
        .map(aggregatedResource);
      for (const x of VIRTUAL.filter((r) => r.group === gv.group && r.version === gv.version)) {
        list.push({
          resource: x.resource,
          responseKind: { group: x.group, version: x.version, kind: x.kind },
          scope: "Cluster",
          singularResource: x.singular,
          verbs: x.verbs,
        });
      }
      return {
        metadata: core ? { creationTimestamp: null } : { name: gv.group, creationTimestamp: null },
        versions: [{ version: gv.version, resources: list, freshness: "Current" }],
      };
    });
  return {
    kind: "APIGroupDiscoveryList",
    apiVersion: `apidiscovery.k8s.io/${v}`,
    metadata: {},
    items,
  };
}

export interface LegacyResource {
  name: string;
  singularName?: string;
  namespaced: boolean;
  kind: string;
  verbs: string[];
  shortNames?: string[];
  categories?: string[];
}

/**
 * One version of a group in the aggregated form, from its legacy APIResourceList: for the
 * groups served beside the registry (metrics.k8s.io, autoscaling/v1), so that clients that
 * read only the aggregated documents (kubectl 1.30+) find them too.
 */
export interface LegacyResourceList {
  kind: "APIResourceList";
  apiVersion: "v1";
  groupVersion: string;
  resources: LegacyResource[];
}

export function aggregatedVersion(list: LegacyResourceList) {
  const [group, version] = list.groupVersion.split("/") as [string, string];
  return {
    version,
    freshness: "Current",
    resources: list.resources.map((r) => ({
      resource: r.name,
      responseKind: { group, version, kind: r.kind },
      scope: r.namespaced ? "Namespaced" : "Cluster",
      singularResource: r.singularName ?? "",
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
