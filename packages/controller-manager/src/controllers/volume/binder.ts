// The PersistentVolume controller (Kubernetes' persistentvolume-binder) with Skiff's
// built-in local-path provisioner. Keys are "claim:<ns>/<name>" and "volume:<name>".
//   claims   bind to a pre-bound or the smallest fitting free volume; failing that, a claim
//            of a local-path class gets a new volume on a node — for WaitForFirstConsumer
//            the node the scheduler chose for its first pod (volume.kubernetes.io/selected-node)
//   volumes  Available → Bound → Released when their claim goes; then Retain keeps them,
//            Delete removes them (a local-path volume's directory first, by a helper pod)
// At start it makes the default StorageClass "local-path" when there is none of that name.
import { isAlreadyExists, isNotFound, splitMetaNamespaceKey } from "@skiff/client";
import type {
  EventRecorder,
  KubeObject,
  Lister,
  ResourceClient,
  SharedInformer,
  WorkQueue,
} from "@skiff/client";
import {
  newQueue,
  QueueController,
  unwrapTombstone,
  type ControllerContext,
} from "../../controller.js";
import type {
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  StorageClass,
} from "../../objects.js";
import { resourceInfo } from "@skiff/api/light";
import {
  BIND_COMPLETED,
  BOUND_BY_CONTROLLER,
  LOCAL_PATH_PROVISIONER,
  PROVISIONED_BY,
  SELECTED_NODE,
  claimRefMatches,
  claimRefTo,
  classOf,
  cleanupPod,
  findVolume,
  provisionLocalPath,
} from "./binding.js";

export interface VolumeBinderOptions {
  /** Where local-path volumes live on nodes (a class may say otherwise in parameters.nodePath). */
  localPathRoot?: string;
  /** The image of the pod that removes a deleted volume's directory. */
  helperImage?: string;
  /** Whether to create the default "local-path" StorageClass at start. */
  defaultStorageClass?: boolean;
}

export const DEFAULT_LOCAL_PATH_ROOT = "/var/lib/skiff/local-path";

export function defaultLocalPathClass(): StorageClass {
  return {
    apiVersion: "storage.k8s.io/v1",
    kind: "StorageClass",
    metadata: {
      name: "local-path",
      annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
    },
    provisioner: LOCAL_PATH_PROVISIONER,
    reclaimPolicy: "Delete",
    volumeBindingMode: "WaitForFirstConsumer",
  } as StorageClass;
}

const HELPER_NAMESPACE = "kube-system";

export class VolumeBinderController extends QueueController {
  readonly name = "persistentvolume-binder";
  readonly queue: WorkQueue<string>;
  private readonly claims: Lister<PersistentVolumeClaim>;
  private readonly volumes: Lister<PersistentVolume>;
  private readonly classes: Lister<StorageClass>;
  private readonly nodes: Lister<Node>;
  private readonly helpers: Lister<Pod>;
  private readonly informers: SharedInformer[];
  private readonly claimClient: ResourceClient<PersistentVolumeClaim>;
  private readonly volumeClient: ResourceClient<PersistentVolume>;
  private readonly classClient: ResourceClient<StorageClass>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly recorder: EventRecorder;
  private readonly root: string;
  private readonly helperImage: string;

  constructor(
    ctx: ControllerContext,
    private readonly opts: VolumeBinderOptions = {},
  ) {
    super(ctx);
    this.root = opts.localPathRoot ?? DEFAULT_LOCAL_PATH_ROOT;
    this.helperImage = opts.helperImage ?? "skiff.local/busybox:1.36";
    this.queue = newQueue(ctx, this.name);
    this.recorder = ctx.recorder("persistentvolume-controller");
    const claimInfo = resourceInfo("", "v1", "persistentvolumeclaims");
    const volumeInfo = resourceInfo("", "v1", "persistentvolumes");
    const classInfo = resourceInfo("storage.k8s.io", "v1", "storageclasses");
    const podInfo = resourceInfo("", "v1", "pods");
    const claims = ctx.informers.forResource<PersistentVolumeClaim>(claimInfo);
    const volumes = ctx.informers.forResource<PersistentVolume>(volumeInfo);
    const classes = ctx.informers.forResource<StorageClass>(classInfo);
    const nodes = ctx.informers.forResource<Node>(resourceInfo("", "v1", "nodes"));
    const pods = ctx.informers.forResource<Pod>(podInfo);
    this.claims = claims.lister();
    this.volumes = volumes.lister();
    this.classes = classes.lister();
    this.nodes = nodes.lister();
    this.helpers = pods.lister();
    this.informers = [claims, volumes, classes, nodes, pods] as SharedInformer[];
    this.claimClient = ctx.client.resource<PersistentVolumeClaim>(claimInfo);
    this.volumeClient = ctx.client.resource<PersistentVolume>(volumeInfo);
    this.classClient = ctx.client.resource<StorageClass>(classInfo);
    this.podClient = ctx.client.resource<Pod>(podInfo);

    const onClaim = (c: PersistentVolumeClaim) =>
      this.queue.add(`claim:${c.metadata.namespace ?? ""}/${c.metadata.name ?? ""}`);
    const onVolume = (v: PersistentVolume) => {
      this.queue.add(`volume:${v.metadata.name ?? ""}`);
      const ref = v.spec?.claimRef;
      if (ref?.name) this.queue.add(`claim:${ref.namespace ?? ""}/${ref.name}`);
    };
    const handler = <T extends KubeObject>(fn: (o: T) => void) => ({
      add: fn,
      update: (o: T, n: T) => o.metadata.resourceVersion !== n.metadata.resourceVersion && fn(n),
      delete: (o: T | { obj: T }) => fn(unwrapTombstone(o as T)),
    });
    claims.addEventHandler(
      handler<PersistentVolumeClaim>((c) => {
        onClaim(c);
        // A claim going away releases its volume.
        if (c.spec?.volumeName) this.queue.add(`volume:${c.spec.volumeName}`);
      }),
    );
    volumes.addEventHandler(handler(onVolume));
    pods.addEventHandler(
      handler<Pod>((p) => {
        const pv = p.metadata.labels?.["skiff.io/local-path-cleanup"];
        if (pv && p.metadata.namespace === HELPER_NAMESPACE) this.queue.add(`volume:${pv}`);
      }),
    );
  }

  protected cachesToSync() {
    return this.informers;
  }

  override async run(workers: number, signal: AbortSignal): Promise<void> {
    if (this.opts.defaultStorageClass ?? true) {
      try {
        await this.classClient.create(defaultLocalPathClass());
      } catch (e) {
        if (!isAlreadyExists(e))
          this.ctx.log.warn({ err: e }, "cannot create the default StorageClass local-path");
      }
    }
    return super.run(workers, signal);
  }

  async sync(key: string): Promise<void> {
    if (key.startsWith("claim:")) return this.syncClaim(key.slice("claim:".length));
    if (key.startsWith("volume:")) return this.syncVolume(key.slice("volume:".length));
  }

  private async syncClaim(key: string): Promise<void> {
    const { namespace, name } = splitMetaNamespaceKey(key);
    const pvc = this.claims.namespace(namespace).get(name);
    if (!pvc || pvc.metadata.deletionTimestamp) return;
    const volumes = this.volumes.list();
    if (pvc.spec?.volumeName) {
      const pv = volumes.find((v) => v.metadata.name === pvc.spec?.volumeName);
      if (!pv) {
        if (pvc.status?.phase === "Bound") {
          await this.claimStatus(pvc, { phase: "Lost" });
          this.recorder.event(
            pvc,
            "Warning",
            "ClaimLost",
            "Bound claim has lost its PersistentVolume. Data on the volume is lost!",
          );
        }
        return;
      }
      if (pv.spec?.claimRef && !claimRefMatches(pv, pvc)) {
        if (pvc.status?.phase === "Bound") await this.claimStatus(pvc, { phase: "Lost" });
        else
          this.recorder.event(
            pvc,
            "Warning",
            "FailedBinding",
            "volume already bound to a different claim.",
          );
        return;
      }
      return this.bind(pv, pvc);
    }
    const pv = findVolume(pvc, volumes);
    if (pv) return this.bind(pv, pvc);

    const className = classOf(pvc);
    const sc = className ? this.classes.get(className) : undefined;
    if (!sc) {
      this.recorder.event(
        pvc,
        "Normal",
        "FailedBinding",
        className
          ? `storageclass.storage.k8s.io "${className}" not found`
          : "no persistent volumes available for this claim and no storage class is set",
      );
      return;
    }
    if (sc.provisioner !== LOCAL_PATH_PROVISIONER) {
      this.recorder.event(
        pvc,
        "Normal",
        "ExternalProvisioning",
        `Waiting for a volume to be created either by the external provisioner '${sc.provisioner}' or manually by the system administrator.`,
      );
      return;
    }
    let node = pvc.metadata.annotations?.[SELECTED_NODE];
    if (!node) {
      if (sc.volumeBindingMode === "WaitForFirstConsumer") {
        this.recorder.event(
          pvc,
          "Normal",
          "WaitForFirstConsumer",
          "waiting for first consumer to be created before binding",
        );
        return;
      }
      node = this.nodes
        .list()
        .map((n) => n.metadata.name ?? "")
        .sort()[0];
      if (!node) return;
    }
    this.recorder.event(
      pvc,
      "Normal",
      "Provisioning",
      `External provisioner is provisioning volume for claim "${key}"`,
    );
    const volume = provisionLocalPath(pvc, sc, node, this.root);
    try {
      await this.volumeClient.create(volume);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
    }
    this.recorder.event(
      pvc,
      "Normal",
      "ProvisioningSucceeded",
      `Successfully provisioned volume ${volume.metadata.name ?? ""}`,
    );
    // The new volume's event brings the claim back here to bind.
  }

  /** Both halves of a binding: the volume's claimRef and phase, then the claim's. */
  private async bind(pv: PersistentVolume, pvc: PersistentVolumeClaim): Promise<void> {
    let volume = pv;
    if (!pv.spec?.claimRef?.uid || pv.spec.claimRef.uid !== pvc.metadata.uid) {
      const next = structuredClone(pv);
      next.spec = {
        ...next.spec,
        claimRef: { ...claimRefTo(pvc), resourceVersion: pvc.metadata.resourceVersion },
      };
      next.metadata.annotations = { ...next.metadata.annotations, [BOUND_BY_CONTROLLER]: "yes" };
      volume = await this.volumeClient.update(next);
    }
    if (volume.status?.phase !== "Bound") {
      const next = structuredClone(volume);
      next.status = { ...next.status, phase: "Bound" };
      volume = await this.volumeClient.updateStatus(next);
    }
    let claim = pvc;
    if (
      pvc.spec?.volumeName !== volume.metadata.name ||
      !pvc.metadata.annotations?.[BIND_COMPLETED]
    ) {
      const next = structuredClone(pvc);
      next.spec = { ...next.spec, volumeName: volume.metadata.name };
      next.metadata.annotations = {
        ...next.metadata.annotations,
        [BIND_COMPLETED]: "yes",
        ...(pvc.spec?.volumeName ? {} : { [BOUND_BY_CONTROLLER]: "yes" }),
      };
      claim = await this.claimClient.namespace(pvc.metadata.namespace ?? "").update(next);
    }
    const status = {
      phase: "Bound",
      accessModes: volume.spec?.accessModes ?? [],
      capacity: volume.spec?.capacity ?? {},
    };
    if (
      claim.status?.phase !== "Bound" ||
      JSON.stringify(claim.status.capacity) !== JSON.stringify(status.capacity)
    ) {
      await this.claimStatus(claim, status);
    }
  }

  private async claimStatus(
    pvc: PersistentVolumeClaim,
    status: NonNullable<PersistentVolumeClaim["status"]>,
  ): Promise<void> {
    const next = structuredClone(pvc);
    next.status = { ...next.status, ...status };
    await this.claimClient.namespace(pvc.metadata.namespace ?? "").updateStatus(next);
  }

  private async volumePhase(pv: PersistentVolume, phase: string, message?: string): Promise<void> {
    if (pv.status?.phase === phase && (pv.status.message ?? "") === (message ?? "")) return;
    const next = structuredClone(pv);
    next.status = { phase, ...(message ? { message } : {}) };
    await this.volumeClient.updateStatus(next);
  }

  private async syncVolume(name: string): Promise<void> {
    const pv = this.volumes.get(name);
    if (!pv) return;
    const ref = pv.spec?.claimRef;
    if (!ref?.name) return this.volumePhase(pv, "Available");
    const claim = this.claims.namespace(ref.namespace ?? "").get(ref.name);
    if (claim && (!ref.uid || ref.uid === claim.metadata.uid)) {
      if (claim.spec?.volumeName === name) await this.volumePhase(pv, "Bound");
      return; // the claim's sync finishes the binding
    }
    // The claim is gone: the volume is released, and its reclaim policy decides.
    if (pv.status?.phase !== "Released" && pv.status?.phase !== "Failed")
      await this.volumePhase(pv, "Released");
    if (pv.metadata.deletionTimestamp) return;
    const policy = pv.spec?.persistentVolumeReclaimPolicy ?? "Retain";
    if (policy !== "Delete") return;
    if (pv.metadata.annotations?.[PROVISIONED_BY] !== LOCAL_PATH_PROVISIONER) {
      await this.volumePhase(pv, "Failed", "error getting deleter volume plugin for volume");
      return;
    }
    await this.deleteLocalPath(pv);
  }

  /** Removes the directory with a helper pod on the volume's node, then the volume. */
  private async deleteLocalPath(pv: PersistentVolume): Promise<void> {
    const helper = cleanupPod(pv, HELPER_NAMESPACE, this.helperImage);
    const pods = this.podClient.namespace(HELPER_NAMESPACE);
    const running = this.helpers.namespace(HELPER_NAMESPACE).get(helper.metadata.name ?? "");
    if (!running) {
      try {
        await pods.create(helper);
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
      }
      return; // its status changes bring us back
    }
    const phase = running.status?.phase;
    if (phase === "Failed") {
      await this.volumePhase(
        pv,
        "Failed",
        `the helper pod ${helper.metadata.name ?? ""} failed to remove ${pv.spec?.hostPath?.path ?? ""}`,
      );
      return;
    }
    if (phase !== "Succeeded") return;
    try {
      await this.volumeClient.delete(pv.metadata.name ?? "");
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    await pods.delete(helper.metadata.name ?? "").catch((e: unknown) => {
      if (!isNotFound(e)) throw e;
    });
  }
}

export const newVolumeBinderController = (ctx: ControllerContext, opts: VolumeBinderOptions = {}) =>
  new VolumeBinderController(ctx, opts);
