// Claim-to-volume matching and the local-path provisioner's volumes, as pure functions.
import { labelSelectorToRequirements, matchesLabels, parseQuantity } from "@skiff/api/light";
import type { PersistentVolume, PersistentVolumeClaim, Pod, StorageClass } from "../../objects.js";

/** The provisioner name of Skiff's built-in dynamic provisioner (k3s' local-path role). */
export const LOCAL_PATH_PROVISIONER = "skiff.io/local-path";
/** Set by the scheduler on a WaitForFirstConsumer claim: the node its first pod went to. */
export const SELECTED_NODE = "volume.kubernetes.io/selected-node";
export const PROVISIONED_BY = "pv.kubernetes.io/provisioned-by";
export const BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller";
export const BIND_COMPLETED = "pv.kubernetes.io/bind-completed";
export const HOSTNAME_LABEL = "kubernetes.io/hostname";

const storageOf = (q: string | number | undefined): number =>
  q === undefined ? 0 : parseQuantity(q);

/** The claim's class: "" when it names none. */
export function classOf(x: { spec?: { storageClassName?: string } }): string {
  return x.spec?.storageClassName ?? "";
}

/** Whether `pv` can serve `pvc`: class, access modes, size, selector and volume mode. */
export function volumeFits(pv: PersistentVolume, pvc: PersistentVolumeClaim): boolean {
  if (pv.metadata.deletionTimestamp) return false;
  if (classOf(pv) !== classOf(pvc)) return false;
  const modes = new Set(pv.spec?.accessModes ?? []);
  if (!(pvc.spec?.accessModes ?? []).every((m) => modes.has(m))) return false;
  if ((pv.spec?.volumeMode ?? "Filesystem") !== (pvc.spec?.volumeMode ?? "Filesystem"))
    return false;
  if (storageOf(pv.spec?.capacity?.storage) < storageOf(pvc.spec?.resources?.requests?.storage))
    return false;
  if (pvc.spec?.selector) {
    try {
      if (!matchesLabels(labelSelectorToRequirements(pvc.spec.selector), pv.metadata.labels))
        return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** Whether the volume's claimRef names this claim (uid too, once it has one). */
export function claimRefMatches(pv: PersistentVolume, pvc: PersistentVolumeClaim): boolean {
  const ref = pv.spec?.claimRef;
  return (
    ref !== undefined &&
    ref.name === pvc.metadata.name &&
    ref.namespace === pvc.metadata.namespace &&
    (!ref.uid || ref.uid === pvc.metadata.uid)
  );
}

/**
 * The volume for a claim: one pre-bound to it first, else the smallest free volume that
 * fits (Kubernetes' findBestMatchForClaim).
 */
export function findVolume(
  pvc: PersistentVolumeClaim,
  pvs: PersistentVolume[],
): PersistentVolume | undefined {
  const pre = pvs.find((pv) => claimRefMatches(pv, pvc) && volumeFits(pv, pvc));
  if (pre) return pre;
  const free = pvs
    .filter((pv) => !pv.spec?.claimRef && (pv.status?.phase ?? "Available") !== "Released")
    .filter((pv) => pv.status?.phase !== "Failed" && volumeFits(pv, pvc))
    .sort((a, b) => storageOf(a.spec?.capacity?.storage) - storageOf(b.spec?.capacity?.storage));
  return free[0];
}

/** The directory a provisioned volume lives in on its node. */
export function localPathDir(root: string, pvc: PersistentVolumeClaim): string {
  const { uid, namespace, name } = pvc.metadata;
  return `${root.replace(/\/$/, "")}/pvc-${uid ?? ""}_${namespace ?? ""}_${name ?? ""}`;
}

/**
 * The volume the local-path provisioner makes for a claim: a directory on `node` (created
 * by the kubelet on first mount), pinned to that node, pre-bound to the claim.
 */
export function provisionLocalPath(
  pvc: PersistentVolumeClaim,
  sc: StorageClass,
  node: string,
  root: string,
): PersistentVolume {
  return {
    apiVersion: "v1",
    kind: "PersistentVolume",
    metadata: {
      name: `pvc-${pvc.metadata.uid ?? ""}`,
      annotations: { [PROVISIONED_BY]: LOCAL_PATH_PROVISIONER },
    },
    spec: {
      capacity: { storage: pvc.spec?.resources?.requests?.storage ?? "0" },
      accessModes: [...(pvc.spec?.accessModes ?? [])],
      persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? "Delete",
      storageClassName: sc.metadata.name,
      volumeMode: pvc.spec?.volumeMode ?? "Filesystem",
      hostPath: {
        path: localPathDir(sc.parameters?.nodePath ?? root, pvc),
        type: "DirectoryOrCreate",
      },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: HOSTNAME_LABEL, operator: "In", values: [node] }] },
          ],
        },
      },
      claimRef: claimRefTo(pvc),
    },
  } as PersistentVolume;
}

/** A volume's reference to the claim it is (or is to be) bound to. */
export function claimRefTo(
  pvc: PersistentVolumeClaim,
): NonNullable<NonNullable<PersistentVolume["spec"]>["claimRef"]> {
  const { namespace, name, uid } = pvc.metadata;
  return { kind: "PersistentVolumeClaim", apiVersion: "v1", namespace, name, uid };
}

/** The node a local-path volume is pinned to. */
export function volumeNode(pv: PersistentVolume): string | undefined {
  for (const term of pv.spec?.nodeAffinity?.required?.nodeSelectorTerms ?? []) {
    for (const e of term.matchExpressions ?? []) {
      if (e.key === HOSTNAME_LABEL && e.operator === "In" && e.values?.length === 1)
        return e.values[0];
    }
  }
  return undefined;
}

/**
 * The pod that deletes a released local-path volume's directory on its node (the
 * controller-manager cannot reach the node's disk), as k3s' provisioner does.
 */
export function cleanupPod(pv: PersistentVolume, namespace: string, image: string): Pod {
  const path = pv.spec?.hostPath?.path ?? "";
  const parent = path.slice(0, path.lastIndexOf("/")) || "/";
  const dir = path.slice(path.lastIndexOf("/") + 1);
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `helper-pod-delete-${pv.metadata.name ?? ""}`,
      namespace,
      labels: { "skiff.io/local-path-cleanup": pv.metadata.name ?? "" },
    },
    spec: {
      nodeName: volumeNode(pv),
      restartPolicy: "Never",
      tolerations: [{ operator: "Exists" }],
      containers: [
        {
          name: "cleanup",
          image,
          imagePullPolicy: "IfNotPresent",
          command: ["rm", "-rf", `/data/${dir}`],
          volumeMounts: [{ name: "data", mountPath: "/data" }],
        },
      ],
      volumes: [{ name: "data", hostPath: { path: parent, type: "DirectoryOrCreate" } }],
    },
  } as Pod;
}

/** The claims a pod mounts, by name. */
export function claimsOf(pod: Pod): string[] {
  return (pod.spec?.volumes ?? []).flatMap((v) =>
    v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : [],
  );
}
