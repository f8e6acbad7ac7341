// The ResourceInfo of each served version of a CustomResourceDefinition (what the apiserver
// serves while the CRD is Established, what the namespace controller lists). Apart from
// crd.ts, whose validation pulls in CEL and the JSON-schema code, so that "@skiff/api/light"
// can offer it to clients and controllers.
import type {
  CustomResourceDetail,
  PrinterColumn,
  ResourceInfo,
  Subresource,
} from "../resources.js";
import type { JSONSchemaProps } from "./jsonschema.js";

export type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export interface Names {
  plural?: string;
  singular?: string;
  kind?: string;
  listKind?: string;
  shortNames?: string[];
  categories?: string[];
}

export interface Version {
  name?: string;
  served?: boolean;
  storage?: boolean;
  deprecated?: boolean;
  deprecationWarning?: string;
  schema?: { openAPIV3Schema?: JSONSchemaProps };
  subresources?: {
    status?: Obj;
    scale?: { specReplicasPath?: string; statusReplicasPath?: string; labelSelectorPath?: string };
  };
  additionalPrinterColumns?: PrinterColumn[];
  selectableFields?: { jsonPath?: string }[];
}

export interface Spec {
  group?: string;
  names?: Names;
  scope?: string;
  versions?: Version[];
  conversion?: { strategy?: string };
  preserveUnknownFields?: boolean;
}

export const specOf = (crd: Obj): Spec => (isObject(crd.spec) ? (crd.spec as Spec) : {});

/** The version Kubernetes prefers: GA over beta over alpha, higher numbers first. */
export function compareKubeVersions(a: string, b: string): number {
  const parse = (v: string): [number, number, number] | undefined => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return undefined;
    const stage = m[2] === undefined ? 3 : m[2] === "beta" ? 2 : 1;
    return [stage, Number(m[1]), Number(m[3] ?? 0)];
  };
  const pa = parse(a);
  const pb = parse(b);
  if (pa && pb) {
    for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pb[i]! - pa[i]!;
    return 0;
  }
  if (pa) return -1;
  if (pb) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The ResourceInfo of every served version of a CRD, preferred version first. */
export function customResourceInfos(object: object): ResourceInfo[] {
  const crd = object as Obj;
  const spec = specOf(crd);
  const names = spec.names ?? {};
  const m = isObject(crd.metadata) ? crd.metadata : {};
  const storageVersion = spec.versions?.find((v) => v.storage)?.name ?? "";
  const out: ResourceInfo[] = [];
  for (const v of spec.versions ?? []) {
    if (!v.served || !v.name) continue;
    const subresources: Subresource[] = [];
    if (v.subresources?.status !== undefined) subresources.push("status");
    const scale = v.subresources?.scale;
    if (scale?.specReplicasPath && scale.statusReplicasPath) subresources.push("scale");
    const custom: CustomResourceDetail = {
      crdName: String(m.name ?? ""),
      crdUid: String(m.uid ?? ""),
      storageVersion,
      schema: v.schema?.openAPIV3Schema,
      printerColumns: v.additionalPrinterColumns ?? [],
      scale: subresources.includes("scale")
        ? {
            specReplicasPath: scale!.specReplicasPath!,
            statusReplicasPath: scale!.statusReplicasPath!,
            labelSelectorPath: scale!.labelSelectorPath,
          }
        : undefined,
      selectableFields: (v.selectableFields ?? []).map((f) =>
        (f.jsonPath ?? "").replace(/^\./, ""),
      ),
      deprecationWarning: v.deprecated
        ? (v.deprecationWarning ?? `${spec.group}/${v.name} ${names.kind} is deprecated`)
        : undefined,
    };
    out.push({
      group: spec.group ?? "",
      version: v.name,
      kind: names.kind ?? "",
      listKind: names.listKind ?? `${names.kind ?? ""}List`,
      resource: names.plural ?? "",
      singular: names.singular ?? (names.kind ?? "").toLowerCase(),
      namespaced: spec.scope === "Namespaced",
      shortNames: names.shortNames ?? [],
      categories: names.categories ?? [],
      subresources,
      hasSpec: true,
      hasStatus: subresources.includes("status"),
      custom,
    });
  }
  return out.sort((a, b) => compareKubeVersions(a.version, b.version));
}
