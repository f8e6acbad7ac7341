// A CustomResourceDefinition fixture: one served storage version v1 with the given schema.

export function crdFixture(opts: {
  group: string;
  plural: string;
  kind: string;
  scope?: "Namespaced" | "Cluster";
  schema?: object;
}): { apiVersion: string; kind: string; metadata: { name: string }; spec: object } {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${opts.plural}.${opts.group}` },
    spec: {
      group: opts.group,
      scope: opts.scope ?? "Namespaced",
      names: { plural: opts.plural, kind: opts.kind },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: { openAPIV3Schema: opts.schema ?? { type: "object" } },
        },
      ],
    },
  };
}
