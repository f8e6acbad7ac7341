// admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy and its binding, with
// Kubernetes 1.31's defaults (failurePolicy Fail; matchPolicy Equivalent and selectors {}
// in match resources; rule scope "*").
import type { Static } from "@sinclair/typebox";
import { atomic, int64, keyed, named, opt, set, str, typeMeta, withDefault } from "./helpers.js";
import { ConditionSchema, LabelSelectorSchema, ObjectMetaSchema } from "./meta.js";
import { MatchConditionSchema } from "./admissionregistration.js";

const AR = "io.k8s.api.admissionregistration.v1";

export const NamedRuleWithOperationsSchema = named(
  `${AR}.NamedRuleWithOperations`,
  {
    resourceNames: opt(atomic(str())),
    operations: opt(atomic(str())),
    apiGroups: opt(atomic(str())),
    apiVersions: opt(atomic(str())),
    resources: opt(atomic(str())),
    scope: opt(str({ default: "*" })),
  },
  { "x-kubernetes-map-type": "atomic" },
);
export type NamedRuleWithOperations = Static<typeof NamedRuleWithOperationsSchema>;

export const MatchResourcesSchema = named(
  `${AR}.MatchResources`,
  {
    namespaceSelector: opt(withDefault(LabelSelectorSchema, {})),
    objectSelector: opt(withDefault(LabelSelectorSchema, {})),
    resourceRules: opt(atomic(NamedRuleWithOperationsSchema)),
    excludeResourceRules: opt(atomic(NamedRuleWithOperationsSchema)),
    matchPolicy: opt(str({ default: "Equivalent" })),
  },
  { "x-kubernetes-map-type": "atomic" },
);
export type MatchResources = Static<typeof MatchResourcesSchema>;

export const ParamKindSchema = named(
  `${AR}.ParamKind`,
  { apiVersion: opt(str()), kind: opt(str()) },
  { "x-kubernetes-map-type": "atomic" },
);

export const ValidationSchema = named(`${AR}.Validation`, {
  expression: str(),
  message: opt(str()),
  reason: opt(str()),
  messageExpression: opt(str()),
});
export type Validation = Static<typeof ValidationSchema>;

export const AuditAnnotationSchema = named(`${AR}.AuditAnnotation`, {
  key: str(),
  valueExpression: str(),
});

export const VariableSchema = named(
  `${AR}.Variable`,
  { name: str(), expression: str() },
  { "x-kubernetes-map-type": "atomic" },
);

export const ValidatingAdmissionPolicySpecSchema = named(`${AR}.ValidatingAdmissionPolicySpec`, {
  paramKind: opt(ParamKindSchema),
  matchConstraints: opt(MatchResourcesSchema),
  validations: opt(atomic(ValidationSchema)),
  failurePolicy: opt(str({ default: "Fail" })),
  auditAnnotations: opt(atomic(AuditAnnotationSchema)),
  matchConditions: opt(keyed(MatchConditionSchema, "name")),
  variables: opt(keyed(VariableSchema, "name")),
});
export type ValidatingAdmissionPolicySpec = Static<typeof ValidatingAdmissionPolicySpecSchema>;

export const ValidatingAdmissionPolicyStatusSchema = named(
  `${AR}.ValidatingAdmissionPolicyStatus`,
  {
    observedGeneration: opt(int64()),
    typeChecking: opt(
      named(`${AR}.TypeChecking`, {
        expressionWarnings: opt(
          atomic(named(`${AR}.ExpressionWarning`, { fieldRef: str(), warning: str() })),
        ),
      }),
    ),
    conditions: opt(keyed(ConditionSchema, "type", { strategy: "replace" })),
  },
);

export const ValidatingAdmissionPolicySchema = named(`${AR}.ValidatingAdmissionPolicy`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  spec: opt(ValidatingAdmissionPolicySpecSchema),
  status: opt(ValidatingAdmissionPolicyStatusSchema),
});
export type ValidatingAdmissionPolicy = Static<typeof ValidatingAdmissionPolicySchema>;

export const ParamRefSchema = named(
  `${AR}.ParamRef`,
  {
    name: opt(str()),
    namespace: opt(str()),
    selector: opt(LabelSelectorSchema),
    parameterNotFoundAction: opt(str()),
  },
  { "x-kubernetes-map-type": "atomic" },
);
export type ParamRef = Static<typeof ParamRefSchema>;

export const ValidatingAdmissionPolicyBindingSpecSchema = named(
  `${AR}.ValidatingAdmissionPolicyBindingSpec`,
  {
    policyName: opt(str()),
    paramRef: opt(ParamRefSchema),
    matchResources: opt(MatchResourcesSchema),
    validationActions: opt(set(str())),
  },
);
export type ValidatingAdmissionPolicyBindingSpec = Static<
  typeof ValidatingAdmissionPolicyBindingSpecSchema
>;

export const ValidatingAdmissionPolicyBindingSchema = named(
  `${AR}.ValidatingAdmissionPolicyBinding`,
  {
    ...typeMeta,
    metadata: opt(ObjectMetaSchema),
    spec: opt(ValidatingAdmissionPolicyBindingSpecSchema),
  },
);
export type ValidatingAdmissionPolicyBinding = Static<
  typeof ValidatingAdmissionPolicyBindingSchema
>;
