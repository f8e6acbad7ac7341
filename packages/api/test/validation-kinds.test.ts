// Table tests: invalid ReplicaSets, DaemonSets, Endpoints, EndpointSlices, Events and Leases
// are refused with exactly the field paths and messages Kubernetes gives, and nothing else.
import { test } from "node:test";
import assert from "node:assert/strict";
import { applyDefaults } from "../src/defaults.js";
import { validate } from "../src/validation.js";
import { info } from "./fixtures.js";

// A manifest as the cases change it (each case checks what it touched).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = any;
type Info = ReturnType<typeof info>;
type Case = [what: string, change: (o: Obj) => void, errors: string[]];

/** `field: message` for every error the (defaulted) object gets. */
function errorsOf(i: Info, obj: Obj): string[] {
  applyDefaults(i, obj);
  return validate(i, obj).map((e) => `${e.field}: ${e.message}`);
}

/** The valid object has no errors; each case's change of it gets exactly its errors. */
function table(i: Info, valid: () => Obj, cases: Case[]): void {
  assert.deepEqual(errorsOf(i, valid()), [], `a valid ${i.kind}`);
  for (const [what, change, want] of cases) {
    const obj = valid();
    change(obj);
    assert.deepEqual(errorsOf(i, obj), want, `${i.kind}: ${what}`);
  }
}

const GE0 = "must be greater than or equal to 0";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const PROTOCOLS = 'supported values: "SCTP", "TCP", "UDP"';

const podTemplate = () => ({
  metadata: { labels: { app: "web" } },
  spec: { containers: [{ name: "app", image: "busybox:1.36" }] },
});

test("invalid ReplicaSets are refused with their field paths", () => {
  table(
    info("apps/v1", "ReplicaSet"),
    () => ({
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: "web", namespace: "default" },
      spec: { replicas: 2, selector: { matchLabels: { app: "web" } }, template: podTemplate() },
    }),
    [
      [
        "negative replicas",
        (o) => (o.spec.replicas = -1),
        [`spec.replicas: Invalid value: -1: ${GE0}`],
      ],
      [
        "negative minReadySeconds",
        (o) => (o.spec.minReadySeconds = -1),
        [`spec.minReadySeconds: Invalid value: -1: ${GE0}`],
      ],
      [
        "empty selector (Kubernetes says deployment here too)",
        (o) => (o.spec.selector = {}),
        [
          "spec.selector: Invalid value: map[string]string{}: empty selector is invalid for deployment",
        ],
      ],
      ["no selector", (o) => delete o.spec.selector, ["spec.selector: Required value"]],
      [
        "selector not matching the template",
        (o) => (o.spec.selector.matchLabels = { app: "other" }),
        [
          'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`',
        ],
      ],
      ["no template", (o) => delete o.spec.template, ["spec.template: Required value"]],
      [
        "restartPolicy Never",
        (o) => (o.spec.template.spec.restartPolicy = "Never"),
        [
          'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
        ],
      ],
    ],
  );
});

test("invalid DaemonSets are refused with their field paths", () => {
  const rollingUpdate = (ru: Obj) => ({ type: "RollingUpdate", rollingUpdate: ru });
  const path = "spec.updateStrategy.rollingUpdate.maxUnavailable";
  table(
    info("apps/v1", "DaemonSet"),
    () => ({
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "agent", namespace: "default" },
      spec: { selector: { matchLabels: { app: "web" } }, template: podTemplate() },
    }),
    [
      [
        "unknown update strategy",
        (o) => (o.spec.updateStrategy = { type: "Sometimes" }),
        [
          'spec.updateStrategy.type: Unsupported value: "Sometimes": supported values: "OnDelete", "RollingUpdate"',
        ],
      ],
      [
        "a rollout that can never progress",
        (o) => (o.spec.updateStrategy = rollingUpdate({ maxUnavailable: 0, maxSurge: 0 })),
        [`${path}: Invalid value: 0: may not be 0 when \`maxSurge\` is 0`],
      ],
      [
        "more than 100% unavailable",
        (o) => (o.spec.updateStrategy = rollingUpdate({ maxUnavailable: "120%" })),
        [`${path}: Invalid value: "120%": must not be greater than 100%`],
      ],
      [
        "not a percentage",
        (o) => (o.spec.updateStrategy = rollingUpdate({ maxUnavailable: "ten" })),
        [
          `${path}: Invalid value: "ten": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')`,
        ],
      ],
      [
        "negative revisionHistoryLimit",
        (o) => (o.spec.revisionHistoryLimit = -1),
        [`spec.revisionHistoryLimit: Invalid value: -1: ${GE0}`],
      ],
      [
        "activeDeadlineSeconds in the template",
        (o) => (o.spec.template.spec.activeDeadlineSeconds = 10),
        [
          "spec.template.spec.activeDeadlineSeconds: Invalid value: 10: activeDeadlineSeconds in DaemonSet is not Supported",
        ],
      ],
      [
        "empty selector",
        (o) => (o.spec.selector = { matchExpressions: [] }),
        [
          'spec.selector: Invalid value: {"matchExpressions":[]}: empty selector is invalid for daemonset',
        ],
      ],
    ],
  );
});

test("invalid Endpoints are refused with their field paths", () => {
  const a = "subsets[0].addresses[0]";
  table(
    info("v1", "Endpoints"),
    () => ({
      apiVersion: "v1",
      kind: "Endpoints",
      metadata: { name: "web", namespace: "default" },
      subsets: [
        {
          addresses: [{ ip: "10.244.1.5", hostname: "web-0", nodeName: "node-a" }],
          ports: [{ name: "http", port: 80, protocol: "TCP" }],
        },
      ],
    }),
    [
      [
        "a subset with no addresses",
        (o) => (o.subsets[0].addresses = []),
        ["subsets[0]: Required value: must specify `addresses` or `notReadyAddresses`"],
      ],
      [
        "not an IP",
        (o) => (o.subsets[0].addresses[0].ip = "10.244.1"),
        [`${a}.ip: Invalid value: "10.244.1": must be a valid IP address`],
      ],
      [
        "not an IP among the not-ready",
        (o) => (o.subsets[0].notReadyAddresses = [{ ip: "x" }]),
        ['subsets[0].notReadyAddresses[0].ip: Invalid value: "x": must be a valid IP address'],
      ],
      [
        "a hostname that is no DNS label",
        (o) => (o.subsets[0].addresses[0].hostname = "Web_0"),
        [`${a}.hostname: Invalid value: "Web_0": ${LABEL_MSG}`],
      ],
      [
        "a nodeName that is no DNS subdomain",
        (o) => (o.subsets[0].addresses[0].nodeName = "Node A"),
        [`${a}.nodeName: Invalid value: "Node A": ${SUBDOMAIN_MSG}`],
      ],
      ["no ports", (o) => (o.subsets[0].ports = []), ["subsets[0].ports: Required value"]],
      [
        "a second port without a name",
        (o) => o.subsets[0].ports.push({ port: 81 }),
        ["subsets[0].ports[1].name: Required value"],
      ],
      [
        "port 0",
        (o) => (o.subsets[0].ports[0].port = 0),
        ["subsets[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"],
      ],
      [
        "an unknown protocol",
        (o) => (o.subsets[0].ports[0].protocol = "HTTP"),
        [`subsets[0].ports[0].protocol: Unsupported value: "HTTP": ${PROTOCOLS}`],
      ],
    ],
  );
});

test("invalid EndpointSlices are refused with their field paths", () => {
  table(
    info("discovery.k8s.io/v1", "EndpointSlice"),
    () => ({
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "web-abc", namespace: "default" },
      addressType: "IPv4",
      endpoints: [{ addresses: ["10.244.1.5"], hostname: "web-0", nodeName: "node-a" }],
      ports: [{ name: "http", port: 80, protocol: "TCP" }],
    }),
    [
      [
        "an unknown address type",
        (o) => (o.addressType = "IPv5"),
        ['addressType: Unsupported value: "IPv5": supported values: "FQDN", "IPv4", "IPv6"'],
      ],
      ["no address type", (o) => delete o.addressType, ["addressType: Required value"]],
      [
        "an IPv6 address in an IPv4 slice",
        (o) => (o.endpoints[0].addresses = ["fe80::1"]),
        ['endpoints[0].addresses[0]: Invalid value: "fe80::1": must be a valid IPv4 address'],
      ],
      [
        "an IPv4 address in an IPv6 slice",
        (o) => (o.addressType = "IPv6"),
        ['endpoints[0].addresses[0]: Invalid value: "10.244.1.5": must be a valid IPv6 address'],
      ],
      [
        "an FQDN that is no DNS subdomain",
        (o) => {
          o.addressType = "FQDN";
          o.endpoints[0].addresses = ["Not A Name"];
        },
        [`endpoints[0].addresses[0]: Invalid value: "Not A Name": ${SUBDOMAIN_MSG}`],
      ],
      [
        "an endpoint with no address",
        (o) => (o.endpoints[0].addresses = []),
        ["endpoints[0].addresses: Required value: must contain at least 1 address"],
      ],
      [
        "more than 100 addresses",
        (o) => (o.endpoints[0].addresses = Array.from({ length: 101 }, (_, i) => `10.0.0.${i}`)),
        ["endpoints[0].addresses: Too many: 101: must have at most 100 items"],
      ],
      [
        "a hostname that is no DNS label",
        (o) => (o.endpoints[0].hostname = "Web_0"),
        [`endpoints[0].hostname: Invalid value: "Web_0": ${LABEL_MSG}`],
      ],
      [
        "two ports of one name",
        (o) => o.ports.push({ name: "http", port: 81 }),
        ['ports[1].name: Duplicate value: "http"'],
      ],
      [
        "a port name that is no DNS label",
        (o) => (o.ports[0].name = "HTTP_1"),
        [`ports[0].name: Invalid value: "HTTP_1": ${LABEL_MSG}`],
      ],
      [
        "port 70000",
        (o) => (o.ports[0].port = 70000),
        ["ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive"],
      ],
      [
        "an unknown protocol",
        (o) => (o.ports[0].protocol = "HTTP"),
        [`ports[0].protocol: Unsupported value: "HTTP": ${PROTOCOLS}`],
      ],
    ],
  );
});

test("invalid Events and Leases are refused with their field paths", () => {
  table(
    info("v1", "Event"),
    () => ({
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "web.1", namespace: "default" },
      involvedObject: { kind: "Pod", name: "web", namespace: "default" },
      reason: "Started",
      message: "Started container app",
      type: "Normal",
      count: 1,
    }),
    [
      [
        "about an object in another namespace",
        (o) => (o.involvedObject.namespace = "other"),
        ['involvedObject.namespace: Invalid value: "other": does not match event.namespace'],
      ],
      // Kubernetes reports the bad type this way: an empty value, the type in the message.
      [
        "an unknown type",
        (o) => (o.type = "Bad"),
        ['type: Invalid value: "": has invalid value: Bad'],
      ],
      ["a negative count", (o) => (o.count = -1), [`count: Invalid value: -1: ${GE0}`]],
    ],
  );
  table(
    info("coordination.k8s.io/v1", "Lease"),
    () => ({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "node-a", namespace: "kube-node-lease" },
      spec: { holderIdentity: "node-a", leaseDurationSeconds: 40, leaseTransitions: 0 },
    }),
    [
      [
        "a zero duration",
        (o) => (o.spec.leaseDurationSeconds = 0),
        ["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"],
      ],
      [
        "negative transitions",
        (o) => (o.spec.leaseTransitions = -1),
        [`spec.leaseTransitions: Invalid value: -1: ${GE0}`],
      ],
    ],
  );
});
