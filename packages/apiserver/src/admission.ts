// Mutating admission for new objects, after defaulting and before validation, as
// Kubernetes' plugins of the same names do:
//   DefaultStorageClass              a claim naming no class gets the default StorageClass
//   StorageObjectInUseProtection     claims and volumes get their protection finalizers
import type { ResourceInfo } from "@skiff/api";
import { get, isObject, meta } from "./objects.js";
import type { KubeObject } from "./watchcache.js";

export const PVC_PROTECTION = "kubernetes.io/pvc-protection";
export const PV_PROTECTION = "kubernetes.io/pv-protection";
const DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class";
const BETA_DEFAULT_CLASS = "storageclass.beta.kubernetes.io/is-default-class";

/** What admission reads: the objects of a resource, as the watch cache holds them. */
export type Lookup = (group: string, resource: string) => Promise<KubeObject[]>;

function addFinalizer(obj: KubeObject, finalizer: string): void {
  const m = meta(obj);
  if (!(m.finalizers ?? []).includes(finalizer))
    m.finalizers = [...(m.finalizers ?? []), finalizer];
}

/** The default StorageClass: the newest one marked default, as Kubernetes 1.28+ picks. */
export function defaultStorageClass(classes: KubeObject[]): string | undefined {
  const marked = classes.filter((c) => {
    const a = meta(c).annotations ?? {};
    return a[DEFAULT_CLASS] === "true" || a[BETA_DEFAULT_CLASS] === "true";
  });
  marked.sort(
    (a, b) =>
      (meta(b).creationTimestamp ?? "").localeCompare(meta(a).creationTimestamp ?? "") ||
      (meta(a).name ?? "").localeCompare(meta(b).name ?? ""),
  );
  return marked[0] ? meta(marked[0]).name : undefined;
}

export async function admitCreate(
  lookup: Lookup,
  info: Pick<ResourceInfo, "kind">,
  obj: KubeObject,
): Promise<void> {
  switch (info.kind) {
    case "PersistentVolumeClaim": {
      const spec = get(obj, "spec");
      if (
        isObject(spec) &&
        (spec.storageClassName === undefined || spec.storageClassName === null)
      ) {
        const name = defaultStorageClass(await lookup("storage.k8s.io", "storageclasses"));
        if (name) spec.storageClassName = name;
      }
      addFinalizer(obj, PVC_PROTECTION);
      return;
    }
    case "PersistentVolume":
      addFinalizer(obj, PV_PROTECTION);
      return;
  }
}
