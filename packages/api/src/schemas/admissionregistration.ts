// admissionregistration.k8s.io/v1: MutatingWebhookConfiguration and
// ValidatingWebhookConfiguration, with Kubernetes 1.31's defaults (failurePolicy Fail,
// matchPolicy Equivalent, timeoutSeconds 10, selectors {}, scope "*", service port 443).
import type { Static } from "@sinclair/typebox";
import { atomic, bytes, int32, keyed, named, opt, str, typeMeta, withDefault } from "./helpers.js";
import { LabelSelectorSchema, ObjectMetaSchema } from "./meta.js";

const AR = "io.k8s.api.admissionregistration.v1";

export const RuleWithOperationsSchema = named(`${AR}.RuleWithOperations`, {
  operations: opt(atomic(str())),
  apiGroups: opt(atomic(str())),
  apiVersions: opt(atomic(str())),
  resources: opt(atomic(str())),
  scope: opt(str({ default: "*" })),
});
export type RuleWithOperations = Static<typeof RuleWithOperationsSchema>;

export const ServiceReferenceSchema = named(`${AR}.ServiceReference`, {
  namespace: str(),
  name: str(),
  path: opt(str()),
  port: opt(int32({ default: 443 })),
});

export const WebhookClientConfigSchema = named(`${AR}.WebhookClientConfig`, {
  url: opt(str()),
  service: opt(ServiceReferenceSchema),
  caBundle: opt(bytes()),
});
export type WebhookClientConfig = Static<typeof WebhookClientConfigSchema>;

export const MatchConditionSchema = named(`${AR}.MatchCondition`, {
  name: str(),
  expression: str(),
});

/** The fields both kinds of webhook share. */
const webhookFields = {
  name: str(),
  clientConfig: WebhookClientConfigSchema,
  rules: opt(atomic(RuleWithOperationsSchema)),
  failurePolicy: opt(str({ default: "Fail" })),
  matchPolicy: opt(str({ default: "Equivalent" })),
  namespaceSelector: opt(withDefault(LabelSelectorSchema, {})),
  objectSelector: opt(withDefault(LabelSelectorSchema, {})),
  sideEffects: str(),
  timeoutSeconds: opt(int32({ default: 10 })),
  admissionReviewVersions: atomic(str()),
  matchConditions: opt(keyed(MatchConditionSchema, "name")),
};

export const ValidatingWebhookSchema = named(`${AR}.ValidatingWebhook`, webhookFields);
export type ValidatingWebhook = Static<typeof ValidatingWebhookSchema>;

export const MutatingWebhookSchema = named(`${AR}.MutatingWebhook`, {
  ...webhookFields,
  reinvocationPolicy: opt(str({ default: "Never" })),
});
export type MutatingWebhook = Static<typeof MutatingWebhookSchema>;

export const ValidatingWebhookConfigurationSchema = named(`${AR}.ValidatingWebhookConfiguration`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  webhooks: opt(keyed(ValidatingWebhookSchema, "name")),
});
export type ValidatingWebhookConfiguration = Static<typeof ValidatingWebhookConfigurationSchema>;

export const MutatingWebhookConfigurationSchema = named(`${AR}.MutatingWebhookConfiguration`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  webhooks: opt(keyed(MutatingWebhookSchema, "name")),
});
export type MutatingWebhookConfiguration = Static<typeof MutatingWebhookConfigurationSchema>;
