// core/v1 ReplicationController: the ReplicaSet's ancestor, with an equality-only selector
// (a plain label map) that Kubernetes defaults from the template's labels.
import { Type, type Static } from "@sinclair/typebox";
import { int32, int64, keyed, named, opt, str, time } from "./helpers.js";
import { kindSchema } from "./meta.js";
import { PodTemplateSpecSchema } from "./core.js";

const CORE = "io.k8s.api.core.v1";

export const ReplicationControllerConditionSchema = named(
  `${CORE}.ReplicationControllerCondition`,
  {
    type: str(),
    status: str(),
    lastTransitionTime: opt(time()),
    reason: opt(str()),
    message: opt(str()),
  },
);

export const ReplicationControllerSpecSchema = named(`${CORE}.ReplicationControllerSpec`, {
  replicas: opt(int32({ default: 1 })),
  minReadySeconds: opt(int32()),
  // +mapType=atomic: a patch replaces the selector as a whole.
  selector: opt(Type.Record(Type.String(), Type.String(), { "x-kubernetes-map-type": "atomic" })),
  template: opt(PodTemplateSpecSchema),
});
export type ReplicationControllerSpec = Static<typeof ReplicationControllerSpecSchema>;

export const ReplicationControllerStatusSchema = named(`${CORE}.ReplicationControllerStatus`, {
  replicas: int32(),
  fullyLabeledReplicas: opt(int32()),
  readyReplicas: opt(int32()),
  availableReplicas: opt(int32()),
  observedGeneration: opt(int64()),
  conditions: opt(keyed(ReplicationControllerConditionSchema, "type")),
});
export type ReplicationControllerStatus = Static<typeof ReplicationControllerStatusSchema>;

export const ReplicationControllerSchema = kindSchema(
  `${CORE}.ReplicationController`,
  ReplicationControllerSpecSchema,
  ReplicationControllerStatusSchema,
  { replicas: 0 },
);
export type ReplicationController = Static<typeof ReplicationControllerSchema>;
