// The object shapes every client call works with: any Kubernetes object (KubeObject) and a
// list of them, on @skiff/api's meta/v1 ObjectMeta and ListMeta.
import {
  isObject,
  type KubeList as ApiKubeList,
  type ListMeta,
  type ObjectMeta,
} from "@skiff/api/light";

export type { ListMeta, ObjectMeta, OwnerReference } from "@skiff/api/light";

/** Any Kubernetes object. Kinds with a spec or status extend this. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

/** A list the apiserver answered: unlike @skiff/api's KubeList, its metadata is always set. */
export interface KubeList<T extends KubeObject = KubeObject> extends ApiKubeList<T> {
  metadata: ListMeta;
}

/** @skiff/api's isObject, under the name the client's importers use. */
export const isRecord = isObject;

/** Whether a decoded JSON value looks like an object: it has a metadata object. */
export function isKubeObject(v: unknown): v is KubeObject {
  return isObject(v) && isObject(v.metadata);
}

/** The cache key client-go uses: `namespace/name`, or `name` for cluster-scoped objects. */
export function metaNamespaceKey(obj: KubeObject): string {
  const { namespace, name = "" } = obj.metadata;
  return namespace ? `${namespace}/${name}` : name;
}

/** Splits a `namespace/name` (or `name`) key. */
export function splitMetaNamespaceKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf("/");
  return i < 0
    ? { namespace: "", name: key }
    : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
