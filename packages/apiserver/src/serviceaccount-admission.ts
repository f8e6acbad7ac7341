// The ServiceAccount admission plugin, as Kubernetes' does for a new pod: the pod's
// service account (defaulting made it `default`) must exist, and unless the pod or the
// account says `automountServiceAccountToken: false` the pod gets a projected volume with a
// bound token, the cluster's CA (the kube-root-ca.crt ConfigMap) and its namespace, mounted
// read-only at /var/run/secrets/kubernetes.io/serviceaccount in every container.
import { randomInt } from "node:crypto";
import { NotFoundError } from "./errors.js";
import { isObject, meta, type KubeObject } from "./objects.js";

export const SERVICE_ACCOUNT_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";
export const ROOT_CA_CONFIGMAP = "kube-root-ca.crt";
const MIRROR_POD = "kubernetes.io/config.mirror";
/** Kubernetes' token lifetime for these volumes: an hour and a few seconds, so it shows. */
const TOKEN_EXPIRATION_SECONDS = 3607;
// The alphabet of Kubernetes' utilrand.String: no vowels, no confusable digits.
const ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

type Obj = Record<string, unknown>;
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObject) : []);

/** Looks a service account up; undefined when there is none. */
export type AccountLookup = (namespace: string, name: string) => Promise<KubeObject | undefined>;

/**
 * The account a pod runs as. `default` is made by the controller-manager right after its
 * namespace, so a miss is retried for up to about two seconds, as Kubernetes does.
 */
async function findAccount(
  lookup: AccountLookup,
  ns: string,
  name: string,
): Promise<KubeObject | undefined> {
  const attempts = name === "default" ? 10 : 1;
  const interval = 100 + randomInt(100);
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, interval));
    const sa = await lookup(ns, name);
    if (sa) return sa;
  }
  return undefined;
}

/** The volume name: `kube-api-access-` and five random characters. */
export function accessVolumeName(): string {
  let s = "";
  for (let i = 0; i < 5; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return `kube-api-access-${s}`;
}

/** The projected volume Kubernetes gives a pod for its service account. */
export function accessVolume(name: string): Obj {
  return {
    name,
    projected: {
      defaultMode: 0o644,
      sources: [
        { serviceAccountToken: { expirationSeconds: TOKEN_EXPIRATION_SECONDS, path: "token" } },
        {
          configMap: { name: ROOT_CA_CONFIGMAP, items: [{ key: "ca.crt", path: "ca.crt" }] },
        },
        {
          downwardAPI: {
            items: [
              {
                path: "namespace",
                fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" },
              },
            ],
          },
        },
      ],
    },
  };
}

/**
 * Admits a new pod. Throws the reason (worded as Kubernetes words it) when its account does
 * not exist; the caller makes it a Forbidden for the pod.
 */
export async function admitServiceAccount(
  pod: KubeObject,
  lookup: AccountLookup,
): Promise<string | undefined> {
  const m = meta(pod);
  // Static pods' mirrors are the kubelet's business: no account, no token.
  if (m.annotations?.[MIRROR_POD] !== undefined) return undefined;
  const spec = isObject(pod.spec) ? pod.spec : (pod.spec = {});
  if (typeof spec.serviceAccountName !== "string" || spec.serviceAccountName === "") {
    spec.serviceAccountName = "default";
    spec.serviceAccount = "default";
  }
  const ns = m.namespace ?? "default";
  const name = spec.serviceAccountName as string;
  const account = await findAccount(lookup, ns, name);
  if (!account)
    return `error looking up service account ${ns}/${name}: serviceaccount "${name}" not found`;
  // The pod's own word wins over the account's.
  const automount =
    typeof spec.automountServiceAccountToken === "boolean"
      ? spec.automountServiceAccountToken
      : account.automountServiceAccountToken !== false;
  if (!automount) return undefined;
  const containers = [
    ...list(spec.initContainers),
    ...list(spec.containers),
    ...list(spec.ephemeralContainers),
  ];
  // A pod that already mounts something there keeps it (Kubernetes skips such containers).
  const needs = containers.filter(
    (c) => !list(c.volumeMounts).some((vm) => vm.mountPath === SERVICE_ACCOUNT_MOUNT_PATH),
  );
  if (needs.length === 0) return undefined;
  const volumes = list(spec.volumes);
  let volumeName = accessVolumeName();
  while (volumes.some((v) => v.name === volumeName)) volumeName = accessVolumeName();
  spec.volumes = [...volumes, accessVolume(volumeName)];
  for (const c of needs) {
    c.volumeMounts = [
      ...list(c.volumeMounts),
      { name: volumeName, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH },
    ];
  }
  return undefined;
}

/** A lookup through a registry-like `get` that throws NotFoundError for a missing object. */
export function lookupVia(get: (ns: string, name: string) => Promise<KubeObject>): AccountLookup {
  return async (ns, name) => {
    try {
      return await get(ns, name);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  };
}
