// Discovery documents: /version, /api, /apis, /api/v1 and /apis/{group}/{version}, in the
// legacy (non-aggregated) format that every kubectl version understands.
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

export function apiVersions(serverAddress: string): object {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

export function apiGroupList(): object {
  const groups = groupVersions()
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
  const gv = groupVersions().find((g) => g.group === group);
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
  if (here.length === 0) return undefined;
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
