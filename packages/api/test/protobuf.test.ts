// The protobuf field tables and the TypeBox schemas describe the same kinds: every field a
// schema accepts must have a protobuf field, or a protobuf client could not send it.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { TSchema } from "@sinclair/typebox";
import {
  apiVersionOf,
  classify,
  decodeEnvelope,
  encodeEnvelope,
  listSchemaFor,
  protobufMessageOf,
  protobufMessages,
  resources,
  schemaFor,
} from "../src/index.js";

/** The fields of a message, with those of inline (embedded) messages lifted up. */
function fieldsOf(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [json, [, type, mode]] of Object.entries(protobufMessages[message] ?? {})) {
    if (mode === "inline") for (const [k, v] of fieldsOf(type)) out.set(k, v);
    else out.set(json, type);
  }
  return out;
}

function missingFields(schema: TSchema, message: string, path: string, out: string[]): void {
  const node = classify(schema);
  if (node.is === "array") return missingFields(node.items, message, path, out);
  if (node.is === "map") return missingFields(node.values, message, path, out);
  if (node.is !== "struct" || !protobufMessages[message]) return;
  const fields = fieldsOf(message);
  // A kind's apiVersion/kind (TypeMeta) travel in the envelope, not in the message.
  const isKind = /\.(ObjectMeta|ListMeta)$/.test(fields.get("metadata") ?? "");
  for (const [name, prop] of Object.entries(node.properties)) {
    if (isKind && (name === "apiVersion" || name === "kind")) continue;
    const type = fields.get(name);
    if (type === undefined) out.push(`${message} ${path}${name}`);
    else missingFields(prop, type, `${path}${name}.`, out);
  }
}

test("every field of every served kind's schema has a protobuf field number", () => {
  const missing: string[] = [];
  for (const info of resources) {
    // CRDs are served in JSON only (JSONSchemaProps has no protobuf table here yet).
    if (info.kind === "CustomResourceDefinition") continue;
    const message = protobufMessageOf(apiVersionOf(info), info.kind);
    assert.ok(message, `${info.kind} has a protobuf message`);
    missingFields(schemaFor(info), message, "", missing);
    missingFields(listSchemaFor(info), `${message}List`, "", missing);
  }
  assert.deepEqual(missing, []);
});

test("a kind round-trips through its protobuf encoding", () => {
  const deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: "web",
      namespace: "default",
      labels: { app: "web" },
      creationTimestamp: "2026-01-02T03:04:05Z",
      resourceVersion: "42",
      generation: 3,
    },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: {
          containers: [
            {
              name: "web",
              image: "busybox",
              ports: [{ containerPort: 80, protocol: "TCP" }],
              resources: { limits: { cpu: "500m", memory: "64Mi" } },
              readinessProbe: { httpGet: { path: "/", port: "http" }, periodSeconds: 5 },
            },
          ],
          volumes: [{ name: "cfg", configMap: { name: "cfg", defaultMode: 420 } }],
        },
      },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 1 } },
    },
    status: {},
  };
  const bytes = encodeEnvelope(deployment);
  assert.deepEqual([...bytes.subarray(0, 4)], [0x6b, 0x38, 0x73, 0x00]);
  assert.deepEqual(decodeEnvelope(bytes).object, deployment);
});

test("a pod's ephemeral containers round-trip through protobuf (an embedded message)", () => {
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web", namespace: "default" },
    spec: {
      containers: [{ name: "c", image: "busybox:1.36" }],
      ephemeralContainers: [
        {
          name: "dbg",
          image: "busybox:1.36",
          command: ["sh"],
          targetContainerName: "c",
          tty: true,
        },
      ],
    },
    status: {
      ephemeralContainerStatuses: [
        { name: "dbg", ready: false, restartCount: 0, image: "busybox:1.36", imageID: "" },
      ],
    },
  };
  assert.deepEqual(decodeEnvelope(encodeEnvelope(pod)).object, pod);
});

test("a malformed or unknown body is a ProtobufError naming the problem", () => {
  assert.throws(() => decodeEnvelope(Buffer.from("{}")), /protobuf magic/);
  const unknownKind = encodeEnvelope({ apiVersion: "v1", kind: "ConfigMap", metadata: {} });
  // Rewrite the kind in place: "ConfigMap" -> "ConfigMaq" (same length).
  const i = unknownKind.indexOf("ConfigMap");
  unknownKind[i + 8] = "q".charCodeAt(0);
  assert.throws(() => decodeEnvelope(unknownKind), /no kind "ConfigMaq" is registered/);
  assert.throws(() => decodeEnvelope(unknownKind.subarray(0, unknownKind.length - 3)), /malformed/);
});
