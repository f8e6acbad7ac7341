// Discovery: reads /api, /apis and each group version's resource list, then resolves what a
// user types (`po`, `deploy`, `deployments.apps`, `Deployment`, `all`) to API resources.
import { isObject } from "@skiff/api";
import type { RestClient } from "@skiff/client";
import { CommandError } from "./errors.js";

export interface ApiResource {
  group: string;
  version: string;
  /** The plural, as in URLs: "deployments". */
  name: string;
  singularName: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
  shortNames: string[];
  categories: string[];
}

function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

export class Discovery {
  private cached?: Promise<ApiResource[]>;

  constructor(private readonly rest: RestClient) {}

  /** Every top-level resource the server serves (subresources left out), core group first. */
  resources(): Promise<ApiResource[]> {
    this.cached ??= this.load();
    return this.cached;
  }

  private async load(): Promise<ApiResource[]> {
    const [core, groups] = await Promise.all([
      this.rest.request("GET", "/api"),
      this.rest.request("GET", "/apis"),
    ]);
    const gvs: { group: string; version: string; path: string }[] = [];
    for (const v of isObject(core) ? stringList(core.versions) : []) {
      gvs.push({ group: "", version: v, path: `/api/${v}` });
    }
    const groupList = isObject(groups) && Array.isArray(groups.groups) ? groups.groups : [];
    for (const g of groupList) {
      if (!isObject(g) || typeof g.name !== "string") continue;
      const preferred = isObject(g.preferredVersion) ? g.preferredVersion.version : undefined;
      const versions = Array.isArray(g.versions) ? g.versions.filter(isObject) : [];
      const chosen = versions.find((v) => v.version === preferred) ?? versions[0];
      if (chosen && typeof chosen.version === "string") {
        gvs.push({
          group: g.name,
          version: chosen.version,
          path: `/apis/${g.name}/${chosen.version}`,
        });
      }
    }
    const lists = await Promise.all(gvs.map((gv) => this.rest.request("GET", gv.path)));
    const out: ApiResource[] = [];
    lists.forEach((list, i) => {
      const gv = gvs[i]!;
      const items = isObject(list) && Array.isArray(list.resources) ? list.resources : [];
      for (const r of items) {
        if (!isObject(r) || typeof r.name !== "string" || r.name.includes("/")) continue;
        out.push({
          group: gv.group,
          version: gv.version,
          name: r.name,
          singularName:
            typeof r.singularName === "string" && r.singularName !== ""
              ? r.singularName
              : String(r.kind ?? "").toLowerCase(),
          kind: String(r.kind ?? ""),
          namespaced: r.namespaced === true,
          verbs: stringList(r.verbs),
          shortNames: stringList(r.shortNames),
          categories: stringList(r.categories),
        });
      }
    });
    return out;
  }

  /** Resolves one resource type as typed by a user. */
  async resolve(typed: string): Promise<ApiResource> {
    const all = await this.resources();
    const lower = typed.toLowerCase();
    const dot = lower.indexOf(".");
    const candidates = [{ name: lower, group: undefined as string | undefined }];
    if (dot > 0) candidates.push({ name: lower.slice(0, dot), group: lower.slice(dot + 1) });
    for (const c of candidates) {
      const matches = all.filter(
        (r) =>
          (c.group === undefined ||
            r.group === c.group ||
            r.group.startsWith(c.group + ".") ||
            `${r.version}.${r.group}` === c.group) &&
          (r.name === c.name ||
            r.singularName === c.name ||
            r.kind.toLowerCase() === c.name ||
            r.shortNames.includes(c.name)),
      );
      // The core group wins ties, as kubectl's priority list has it.
      const best = matches.find((r) => r.group === "") ?? matches[0];
      if (best) return best;
    }
    throw new CommandError(`error: the server doesn't have a resource type "${typed}"`);
  }

  /** The resources of a category ("all"). */
  async category(name: string): Promise<ApiResource[]> {
    return (await this.resources()).filter((r) => r.categories.includes(name));
  }

  /** The resource for an object's apiVersion and kind. */
  async forKind(apiVersion: string, kind: string): Promise<ApiResource> {
    const [group, version] = apiVersion.includes("/")
      ? [apiVersion.split("/")[0]!, apiVersion.split("/")[1]!]
      : ["", apiVersion];
    const r = (await this.resources()).find(
      (x) => x.group === group && x.version === version && x.kind === kind,
    );
    if (!r)
      throw new CommandError(
        `error: resource mapping not found for kind "${kind}" in version "${apiVersion}"`,
      );
    return r;
  }
}

/** The URL path of a collection, an object or a subresource. */
export function resourcePath(
  r: ApiResource,
  namespace: string | undefined,
  name?: string,
  subresource?: string,
): string {
  let p = r.group === "" ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  if (r.namespaced && namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${r.name}`;
  if (name !== undefined) p += `/${encodeURIComponent(name)}`;
  if (subresource) p += `/${subresource}`;
  return p;
}

/** "deployments.apps" or "pods": how kubectl names a resource in messages. */
export function qualifiedResource(r: ApiResource): string {
  return r.group ? `${r.name}.${r.group}` : r.name;
}

/** "deployment.apps" or "pod": the prefix of `-o name` and of "created" lines. */
export function kindPrefix(r: ApiResource): string {
  const k = r.kind.toLowerCase();
  return r.group ? `${k}.${r.group}` : k;
}

export function apiVersionOf(r: ApiResource): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}
