// Custom resources' schemas: validation wording, pruning, defaulting and CEL rules
// (including transition rules on oldSelf), through the same entry points as built-in kinds.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  applyDefaults,
  customResourceInfos,
  pruneUnknownFields,
  validate,
  type JSONSchemaProps,
} from "../src/index.js";

const schema: JSONSchemaProps = {
  type: "object",
  properties: {
    spec: {
      type: "object",
      properties: {
        domain: {
          type: "string",
          "x-kubernetes-validations": [{ rule: "self == oldSelf", message: "domain is immutable" }],
        },
        port: { "x-kubernetes-int-or-string": true },
        size: { type: "string", enum: ["S", "M"], default: "S" },
        labels: { type: "object", additionalProperties: { type: "string" } },
        at: { type: "string", format: "date-time", nullable: true },
        template: {
          type: "object",
          "x-kubernetes-embedded-resource": true,
          "x-kubernetes-preserve-unknown-fields": true,
        },
        limits: {
          type: "object",
          properties: { min: { type: "integer" }, max: { type: "integer" } },
          "x-kubernetes-validations": [
            {
              rule: "self.min <= self.max",
              messageExpression: "'min ' + string(self.min) + ' is above max ' + string(self.max)",
            },
          ],
        },
      },
    },
  },
};

const crd = {
  metadata: { name: "things.example.com", uid: "u1" },
  spec: {
    group: "example.com",
    scope: "Namespaced",
    names: { plural: "things", singular: "thing", kind: "Thing", listKind: "ThingList" },
    versions: [{ name: "v1", served: true, storage: true, schema: { openAPIV3Schema: schema } }],
  },
};
const info = customResourceInfos(crd)[0]!;

const thing = (spec: object) => ({
  apiVersion: "example.com/v1",
  kind: "Thing",
  metadata: { name: "t", namespace: "default" },
  spec,
});

test("a transition rule (oldSelf) runs on updates only, with its message", () => {
  assert.deepEqual(validate(info, thing({ domain: "a" })), []);
  assert.deepEqual(validate(info, thing({ domain: "b" }), thing({ domain: "a" })), [
    {
      type: "FieldValueInvalid",
      field: "spec.domain",
      message: 'Invalid value: "string": domain is immutable',
    },
  ]);
  assert.deepEqual(validate(info, thing({ domain: "a" }), thing({ domain: "a" })), []);
});

test("messageExpression builds the message from the object", () => {
  assert.deepEqual(validate(info, thing({ limits: { min: 5, max: 2 } })), [
    {
      type: "FieldValueInvalid",
      field: "spec.limits",
      message: 'Invalid value: "object": min 5 is above max 2',
    },
  ]);
});

test("int-or-string, nullable, formats and additionalProperties are checked as Kubernetes does", () => {
  assert.deepEqual(validate(info, thing({ port: 80, at: null, labels: { a: "b" } })), []);
  assert.deepEqual(validate(info, thing({ port: "http" })), []);
  const errs = validate(info, thing({ port: true, at: "yesterday", labels: { a: 1 } }));
  assert.deepEqual(
    errs.map((e) => `${e.field}: ${e.message}`),
    [
      'spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"',
      'spec.at: Invalid value: "yesterday": spec.at in body must be of type date-time: "yesterday"',
      'spec.labels.a: Invalid value: "integer": spec.labels.a in body must be of type string: "integer"',
    ],
  );
});

test("an embedded resource needs apiVersion and kind; its unknown fields are kept", () => {
  const errs = validate(info, thing({ template: { metadata: { name: "x" } } }));
  assert.deepEqual(
    errs.map((e) => e.field),
    ["spec.template.apiVersion", "spec.template.kind"],
  );
  const obj = thing({ template: { apiVersion: "v1", kind: "Pod", spec: { any: 1 } }, extra: 1 });
  assert.deepEqual(pruneUnknownFields(info, obj), ["spec.extra"]);
  assert.deepEqual(obj.spec, { template: { apiVersion: "v1", kind: "Pod", spec: { any: 1 } } });
});

test("defaults fill unset fields, and null ones that are not nullable", () => {
  const obj = thing({ size: null }) as Record<string, unknown>;
  applyDefaults(info, obj);
  assert.deepEqual(obj.spec, { size: "S" });
});
