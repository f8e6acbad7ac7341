// apiextensions.k8s.io/v1 CustomResourceDefinition. The per-version openAPIV3Schema is a
// JSON schema of its own (recursive): it is kept whole here, and checked by
// apiextensions/crd.ts, as Kubernetes' structural-schema rules demand.
import type { Static } from "@sinclair/typebox";
import {
  anyObject,
  atomic,
  bool,
  int32,
  keyed,
  named,
  opt,
  str,
  time,
  typeMeta,
} from "./helpers.js";
import { ObjectMetaSchema } from "./meta.js";

const AX = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1";

export const CustomResourceDefinitionNamesSchema = named(`${AX}.CustomResourceDefinitionNames`, {
  plural: str(),
  singular: opt(str()),
  shortNames: opt(atomic(str())),
  kind: str(),
  listKind: opt(str()),
  categories: opt(atomic(str())),
});

export const CustomResourceColumnDefinitionSchema = named(`${AX}.CustomResourceColumnDefinition`, {
  name: str(),
  type: str(),
  format: opt(str()),
  description: opt(str()),
  priority: opt(int32()),
  jsonPath: str(),
});

export const CustomResourceSubresourcesSchema = named(`${AX}.CustomResourceSubresources`, {
  status: opt(anyObject()),
  scale: opt(
    named(`${AX}.CustomResourceSubresourceScale`, {
      specReplicasPath: str(),
      statusReplicasPath: str(),
      labelSelectorPath: opt(str()),
    }),
  ),
});

export const CustomResourceDefinitionVersionSchema = named(
  `${AX}.CustomResourceDefinitionVersion`,
  {
    name: str(),
    served: bool(),
    storage: bool(),
    deprecated: opt(bool()),
    deprecationWarning: opt(str()),
    schema: opt(
      named(`${AX}.CustomResourceValidation`, {
        openAPIV3Schema: opt(anyObject()),
      }),
    ),
    subresources: opt(CustomResourceSubresourcesSchema),
    additionalPrinterColumns: opt(atomic(CustomResourceColumnDefinitionSchema)),
    selectableFields: opt(atomic(named(`${AX}.SelectableField`, { jsonPath: str() }))),
  },
);

export const CustomResourceDefinitionSpecSchema = named(`${AX}.CustomResourceDefinitionSpec`, {
  group: str(),
  names: CustomResourceDefinitionNamesSchema,
  scope: str(),
  versions: atomic(CustomResourceDefinitionVersionSchema),
  conversion: opt(
    named(`${AX}.CustomResourceConversion`, {
      strategy: str(),
      webhook: opt(anyObject()),
    }),
  ),
  preserveUnknownFields: opt(bool()),
});

export const CustomResourceDefinitionConditionSchema = named(
  `${AX}.CustomResourceDefinitionCondition`,
  {
    type: str(),
    status: str(),
    lastTransitionTime: opt(time()),
    reason: opt(str()),
    message: opt(str()),
  },
);

export const CustomResourceDefinitionStatusSchema = named(`${AX}.CustomResourceDefinitionStatus`, {
  conditions: opt(keyed(CustomResourceDefinitionConditionSchema, "type", { strategy: "replace" })),
  acceptedNames: opt(CustomResourceDefinitionNamesSchema),
  storedVersions: opt(atomic(str())),
});

export const CustomResourceDefinitionSchema = named(`${AX}.CustomResourceDefinition`, {
  ...typeMeta,
  metadata: opt(ObjectMetaSchema),
  spec: CustomResourceDefinitionSpecSchema,
  status: opt(CustomResourceDefinitionStatusSchema),
});
export type CustomResourceDefinition = Static<typeof CustomResourceDefinitionSchema>;
export type CustomResourceDefinitionCondition = Static<
  typeof CustomResourceDefinitionConditionSchema
>;
export type CustomResourceDefinitionVersion = Static<typeof CustomResourceDefinitionVersionSchema>;
