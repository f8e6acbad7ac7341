// flowcontrol.apiserver.k8s.io/v1 FlowSchema and PriorityLevelConfiguration (API Priority
// and Fairness), with Kubernetes 1.31's defaults. Skiff serves and keeps them (with
// Kubernetes' bootstrap objects) but does not enforce them.
import type { Static } from "@sinclair/typebox";
import { atomic, bool, int32, keyed, named, opt, set, str, time, typeMeta } from "./helpers.js";
import { ObjectMetaSchema } from "./meta.js";

const FC = "io.k8s.api.flowcontrol.v1";

const condition = (id: string) =>
  named(id, {
    type: opt(str()),
    status: opt(str()),
    lastTransitionTime: opt(time()),
    reason: opt(str()),
    message: opt(str()),
  });

export const FlowSubjectSchema = named(`${FC}.Subject`, {
  kind: str(),
  user: opt(named(`${FC}.UserSubject`, { name: str() })),
  group: opt(named(`${FC}.GroupSubject`, { name: str() })),
  serviceAccount: opt(named(`${FC}.ServiceAccountSubject`, { namespace: str(), name: str() })),
});
export type FlowSubject = Static<typeof FlowSubjectSchema>;

export const PolicyRulesWithSubjectsSchema = named(`${FC}.PolicyRulesWithSubjects`, {
  subjects: atomic(FlowSubjectSchema),
  resourceRules: opt(
    atomic(
      named(`${FC}.ResourcePolicyRule`, {
        verbs: set(str()),
        apiGroups: set(str()),
        resources: set(str()),
        clusterScope: opt(bool()),
        namespaces: opt(set(str())),
      }),
    ),
  ),
  nonResourceRules: opt(
    atomic(
      named(`${FC}.NonResourcePolicyRule`, {
        verbs: set(str()),
        nonResourceURLs: set(str()),
      }),
    ),
  ),
});
export type PolicyRulesWithSubjects = Static<typeof PolicyRulesWithSubjectsSchema>;

export const FlowSchemaSpecSchema = named(`${FC}.FlowSchemaSpec`, {
  priorityLevelConfiguration: named(`${FC}.PriorityLevelConfigurationReference`, { name: str() }),
  matchingPrecedence: opt(int32({ default: 1000 })),
  distinguisherMethod: opt(named(`${FC}.FlowDistinguisherMethod`, { type: str() })),
  rules: opt(atomic(PolicyRulesWithSubjectsSchema)),
});
export type FlowSchemaSpec = Static<typeof FlowSchemaSpecSchema>;

export const FlowSchemaSchema = named(`${FC}.FlowSchema`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  spec: opt(FlowSchemaSpecSchema),
  status: opt(
    named(`${FC}.FlowSchemaStatus`, {
      conditions: opt(keyed(condition(`${FC}.FlowSchemaCondition`), "type")),
    }),
  ),
});
export type FlowSchema = Static<typeof FlowSchemaSchema>;

export const LimitedPriorityLevelConfigurationSchema = named(
  `${FC}.LimitedPriorityLevelConfiguration`,
  {
    nominalConcurrencyShares: opt(int32({ default: 30 })),
    limitResponse: opt(
      named(`${FC}.LimitResponse`, {
        type: str(),
        queuing: opt(
          named(`${FC}.QueuingConfiguration`, {
            queues: opt(int32({ default: 64 })),
            handSize: opt(int32({ default: 8 })),
            queueLengthLimit: opt(int32({ default: 50 })),
          }),
        ),
      }),
    ),
    lendablePercent: opt(int32({ default: 0 })),
    borrowingLimitPercent: opt(int32()),
  },
);

export const PriorityLevelConfigurationSpecSchema = named(`${FC}.PriorityLevelConfigurationSpec`, {
  type: str(),
  limited: opt(LimitedPriorityLevelConfigurationSchema),
  exempt: opt(
    named(`${FC}.ExemptPriorityLevelConfiguration`, {
      nominalConcurrencyShares: opt(int32({ default: 0 })),
      lendablePercent: opt(int32({ default: 0 })),
    }),
  ),
});
export type PriorityLevelConfigurationSpec = Static<typeof PriorityLevelConfigurationSpecSchema>;

export const PriorityLevelConfigurationSchema = named(`${FC}.PriorityLevelConfiguration`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  spec: opt(PriorityLevelConfigurationSpecSchema),
  status: opt(
    named(`${FC}.PriorityLevelConfigurationStatus`, {
      conditions: opt(keyed(condition(`${FC}.PriorityLevelConfigurationCondition`), "type")),
    }),
  ),
});
export type PriorityLevelConfiguration = Static<typeof PriorityLevelConfigurationSchema>;
