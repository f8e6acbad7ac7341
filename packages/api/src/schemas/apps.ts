// apps/v1 kinds: Deployment, ReplicaSet, DaemonSet, StatefulSet, ControllerRevision.
import type { Static } from "@sinclair/typebox";
import {
  int32,
  int64,
  intOrString,
  keyed,
  named,
  opt,
  str,
  bool,
  anyObject,
  atomic,
  time,
  typeMeta,
  withDefault,
  withPatchStrategy,
} from "./helpers.js";
import { LabelSelectorSchema, ObjectMetaSchema, kindSchema } from "./meta.js";
import { PodTemplateSpecSchema } from "./core.js";
import { PersistentVolumeClaimSchema } from "./storage.js";

const APPS = "io.k8s.api.apps.v1";

const workloadCondition = (id: string, withUpdate: boolean) =>
  named(id, {
    type: str(),
    status: str(),
    ...(withUpdate ? { lastUpdateTime: opt(time()) } : {}),
    lastTransitionTime: opt(time()),
    reason: opt(str()),
    message: opt(str()),
  });

export const DeploymentConditionSchema = workloadCondition(`${APPS}.DeploymentCondition`, true);
export type DeploymentCondition = Static<typeof DeploymentConditionSchema>;

export const DeploymentSpecSchema = named(`${APPS}.DeploymentSpec`, {
  replicas: opt(int32({ default: 1 })),
  selector: LabelSelectorSchema,
  template: PodTemplateSpecSchema,
  strategy: opt(
    withPatchStrategy(
      withDefault(
        named(`${APPS}.DeploymentStrategy`, {
          type: opt(str()),
          rollingUpdate: opt(
            named(`${APPS}.RollingUpdateDeployment`, {
              maxUnavailable: opt(intOrString()),
              maxSurge: opt(intOrString()),
            }),
          ),
        }),
        {},
      ),
      "retainKeys",
    ),
  ),
  minReadySeconds: opt(int32()),
  revisionHistoryLimit: opt(int32({ default: 10 })),
  paused: opt(bool()),
  progressDeadlineSeconds: opt(int32({ default: 600 })),
});
export type DeploymentSpec = Static<typeof DeploymentSpecSchema>;

export const DeploymentStatusSchema = named(`${APPS}.DeploymentStatus`, {
  observedGeneration: opt(int64()),
  replicas: opt(int32()),
  updatedReplicas: opt(int32()),
  readyReplicas: opt(int32()),
  availableReplicas: opt(int32()),
  unavailableReplicas: opt(int32()),
  conditions: opt(keyed(DeploymentConditionSchema, "type")),
  collisionCount: opt(int32()),
});
export type DeploymentStatus = Static<typeof DeploymentStatusSchema>;

export const DeploymentSchema = kindSchema(
  `${APPS}.Deployment`,
  DeploymentSpecSchema,
  DeploymentStatusSchema,
);
export type Deployment = Static<typeof DeploymentSchema>;

export const ReplicaSetConditionSchema = workloadCondition(`${APPS}.ReplicaSetCondition`, false);

export const ReplicaSetSpecSchema = named(`${APPS}.ReplicaSetSpec`, {
  replicas: opt(int32({ default: 1 })),
  minReadySeconds: opt(int32()),
  selector: LabelSelectorSchema,
  template: opt(PodTemplateSpecSchema),
});
export type ReplicaSetSpec = Static<typeof ReplicaSetSpecSchema>;

export const ReplicaSetStatusSchema = named(`${APPS}.ReplicaSetStatus`, {
  replicas: int32(),
  fullyLabeledReplicas: opt(int32()),
  readyReplicas: opt(int32()),
  availableReplicas: opt(int32()),
  observedGeneration: opt(int64()),
  conditions: opt(keyed(ReplicaSetConditionSchema, "type")),
});
export type ReplicaSetStatus = Static<typeof ReplicaSetStatusSchema>;

export const ReplicaSetSchema = kindSchema(
  `${APPS}.ReplicaSet`,
  ReplicaSetSpecSchema,
  ReplicaSetStatusSchema,
  { replicas: 0 },
);
export type ReplicaSet = Static<typeof ReplicaSetSchema>;

export const DaemonSetConditionSchema = workloadCondition(`${APPS}.DaemonSetCondition`, false);

export const DaemonSetSpecSchema = named(`${APPS}.DaemonSetSpec`, {
  selector: LabelSelectorSchema,
  template: PodTemplateSpecSchema,
  updateStrategy: opt(
    withDefault(
      named(`${APPS}.DaemonSetUpdateStrategy`, {
        type: opt(str()),
        rollingUpdate: opt(
          named(`${APPS}.RollingUpdateDaemonSet`, {
            maxUnavailable: opt(intOrString()),
            maxSurge: opt(intOrString()),
          }),
        ),
      }),
      {},
    ),
  ),
  minReadySeconds: opt(int32()),
  revisionHistoryLimit: opt(int32({ default: 10 })),
});
export type DaemonSetSpec = Static<typeof DaemonSetSpecSchema>;

export const DaemonSetStatusSchema = named(`${APPS}.DaemonSetStatus`, {
  currentNumberScheduled: int32(),
  numberMisscheduled: int32(),
  desiredNumberScheduled: int32(),
  numberReady: int32(),
  observedGeneration: opt(int64()),
  updatedNumberScheduled: opt(int32()),
  numberAvailable: opt(int32()),
  numberUnavailable: opt(int32()),
  collisionCount: opt(int32()),
  conditions: opt(keyed(DaemonSetConditionSchema, "type")),
});
export type DaemonSetStatus = Static<typeof DaemonSetStatusSchema>;

export const DaemonSetSchema = kindSchema(
  `${APPS}.DaemonSet`,
  DaemonSetSpecSchema,
  DaemonSetStatusSchema,
  { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 },
);
export type DaemonSet = Static<typeof DaemonSetSchema>;

export const StatefulSetConditionSchema = workloadCondition(`${APPS}.StatefulSetCondition`, false);

export const StatefulSetSpecSchema = named(`${APPS}.StatefulSetSpec`, {
  replicas: opt(int32({ default: 1 })),
  selector: LabelSelectorSchema,
  template: PodTemplateSpecSchema,
  // A claim template is a whole PersistentVolumeClaim (its status too) in the wire format.
  volumeClaimTemplates: opt(atomic(PersistentVolumeClaimSchema)),
  serviceName: opt(str()),
  podManagementPolicy: opt(str({ default: "OrderedReady" })),
  updateStrategy: opt(
    withDefault(
      named(`${APPS}.StatefulSetUpdateStrategy`, {
        type: opt(str()),
        rollingUpdate: opt(
          named(`${APPS}.RollingUpdateStatefulSetStrategy`, {
            partition: opt(int32()),
            maxUnavailable: opt(intOrString()),
          }),
        ),
      }),
      {},
    ),
  ),
  revisionHistoryLimit: opt(int32({ default: 10 })),
  minReadySeconds: opt(int32()),
  persistentVolumeClaimRetentionPolicy: opt(
    withDefault(
      named(`${APPS}.StatefulSetPersistentVolumeClaimRetentionPolicy`, {
        whenDeleted: opt(str({ default: "Retain" })),
        whenScaled: opt(str({ default: "Retain" })),
      }),
      {},
    ),
  ),
  ordinals: opt(named(`${APPS}.StatefulSetOrdinals`, { start: opt(int32({ default: 0 })) })),
});
export type StatefulSetSpec = Static<typeof StatefulSetSpecSchema>;

export const StatefulSetStatusSchema = named(`${APPS}.StatefulSetStatus`, {
  observedGeneration: opt(int64()),
  replicas: int32(),
  readyReplicas: opt(int32()),
  currentReplicas: opt(int32()),
  updatedReplicas: opt(int32()),
  currentRevision: opt(str()),
  updateRevision: opt(str()),
  collisionCount: opt(int32()),
  conditions: opt(keyed(StatefulSetConditionSchema, "type")),
  availableReplicas: opt(int32()),
});
export type StatefulSetStatus = Static<typeof StatefulSetStatusSchema>;

export const StatefulSetSchema = kindSchema(
  `${APPS}.StatefulSet`,
  StatefulSetSpecSchema,
  StatefulSetStatusSchema,
  { replicas: 0 },
);
export type StatefulSet = Static<typeof StatefulSetSchema>;

/** An immutable snapshot of a workload's template: the history `kubectl rollout` reads. */
export const ControllerRevisionSchema = named(`${APPS}.ControllerRevision`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  data: opt(anyObject()),
  revision: int64(),
});
export type ControllerRevision = Static<typeof ControllerRevisionSchema>;
