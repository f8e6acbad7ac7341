// A fuzz test: 10,000+ hostile requests (random and truncated JSON, wrong types, huge
// strings, deep nesting, bad selectors, bad patches, bad resourceVersions). Every one must
// get a 4xx Status — never a 5xx — and the server must still be healthy afterwards.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startApiserver, type TestApiserver, type RequestOptions } from "@skiff/testing";

let api: TestApiserver;
before(async () => {
  api = await startApiserver();
  await api.request(
    "POST",
    "/apis/apps/v1/namespaces/default/deployments",
    validDeployment("target"),
  );
  await api.request("POST", "/api/v1/namespaces/default/configmaps", {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "target" },
  });
});
after(async () => {
  await api?.stop();
});

function validDeployment(name: string): Record<string, unknown> {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, labels: { app: "x" } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "x" } },
      template: {
        metadata: { labels: { app: "x" } },
        spec: { containers: [{ name: "c", image: "i" }] },
      },
    },
  };
}

/** A small seeded PRNG (mulberry32) so that a failure can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Hostile {
  method: string;
  path: string;
  opts: RequestOptions;
  what: string;
}

const SEED = Number(process.env.FUZZ_SEED ?? 20261123);
const random = rng(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const int = (n: number): number => Math.floor(random() * n);

function randomString(n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(32 + int(95));
  return s;
}

function setPath(
  obj: Record<string, unknown>,
  path: string[],
  value: unknown,
): Record<string, unknown> {
  const copy = structuredClone(obj);
  let cur: Record<string, unknown> = copy;
  for (const p of path.slice(0, -1)) {
    if (typeof cur[p] !== "object" || cur[p] === null) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
  return copy;
}

const WRONG_TYPES: [string[], unknown][] = [
  [["spec", "replicas"], "three"],
  [["spec", "replicas"], -5],
  [["spec", "replicas"], 1.5],
  [["metadata", "name"], 42],
  [["metadata", "name"], "UPPER_case"],
  [
    ["metadata", "labels"],
    [1, 2],
  ],
  [["metadata", "labels"], { "bad key!": "v" }],
  [["spec", "template", "spec", "containers"], {}],
  [["spec", "template", "spec", "containers"], []],
  [["spec", "template", "spec", "containers"], [{ name: "c" }]],
  [["spec", "selector"], "app=x"],
  [["spec", "selector", "matchLabels"], { app: "other" }],
  [["spec", "strategy", "type"], "Sometimes"],
  [["spec", "template", "spec", "restartPolicy"], "Never"],
  [
    ["spec", "template", "spec", "containers"],
    [{ name: "c", image: "i", ports: [{ containerPort: 70000 }] }],
  ],
  [
    ["spec", "template", "spec", "containers"],
    [{ name: "c", image: "i", resources: { limits: { cpu: "lots" } } }],
  ],
  [["metadata"], "not an object"],
];

const BAD_SELECTORS = [
  "a in (b",
  "=x",
  "a!=b!=c",
  "!",
  "a notin b",
  "in (x)",
  "a,,b=",
  "@@@",
  "a=(b)",
  "x in ()",
  "key with space=1",
  "a=" + "v".repeat(70),
];
const BAD_FIELD_SELECTORS = [
  "spec.nope=1",
  "a",
  "metadata.name",
  "==x",
  "metadata.labels=1",
  "status.phase>1",
];
const BAD_RVS = ["abc", "-1", "1.5", "1e3", " ", "0x10", "9".repeat(40)];

function hostile(i: number): Hostile {
  const kind = i % 10;
  const deploy = JSON.stringify(validDeployment(`f${i}`));
  switch (kind) {
    case 0: {
      // Truncated JSON: any cut before the final brace is invalid.
      const cut = deploy.slice(0, 1 + int(deploy.length - 2));
      return {
        method: "POST",
        path: "/apis/apps/v1/namespaces/default/deployments",
        opts: { rawBody: cut },
        what: "truncated JSON",
      };
    }
    case 1: {
      const bytes = Buffer.from(Array.from({ length: 1 + int(200) }, () => int(256)));
      bytes[0] = pick([0x7b, 0x5b, 0x22, 0x00, 0xff, 0x3c]); // { [ " NUL 0xff <
      return {
        method: pick(["POST", "PUT"]),
        path: "/api/v1/namespaces/default/configmaps" + (random() < 0.5 ? "/target" : ""),
        opts: { rawBody: bytes },
        what: "random bytes",
      };
    }
    case 2: {
      const [path, value] = pick(WRONG_TYPES);
      return {
        method: "POST",
        path: "/apis/apps/v1/namespaces/default/deployments",
        opts: { rawBody: JSON.stringify(setPath(validDeployment(`w${i}`), path, value)) },
        what: `wrong type at ${path.join(".")}`,
      };
    }
    case 3: {
      const n = pick([300, 5000, 100_000, 1_000_000]);
      const body =
        random() < 0.5
          ? validDeployment("x".repeat(n))
          : setPath(validDeployment(`h${i}`), ["metadata", "labels", "app"], "v".repeat(n));
      return {
        method: "POST",
        path: "/apis/apps/v1/namespaces/default/deployments",
        opts: { rawBody: JSON.stringify(body) },
        what: `huge string ${n}`,
      };
    }
    case 4: {
      const depth = pick([150, 1000, 20_000]);
      const nested = "[".repeat(depth) + "]".repeat(depth);
      const body = deploy.replace('"replicas":1', `"replicas":1,"x":${nested}`);
      return {
        method: pick(["POST", "PATCH"]),
        path: "/apis/apps/v1/namespaces/default/deployments" + (random() < 0.5 ? "" : "/target"),
        opts: {
          rawBody: body,
          contentType: random() < 0.5 ? "application/json" : "application/merge-patch+json",
        },
        what: `nesting ${depth}`,
      };
    }
    case 5: {
      const which =
        random() < 0.6
          ? `labelSelector=${encodeURIComponent(pick(BAD_SELECTORS))}`
          : `fieldSelector=${encodeURIComponent(pick(BAD_FIELD_SELECTORS))}`;
      return {
        method: "GET",
        path: `/api/v1/namespaces/default/configmaps?${which}${random() < 0.3 ? "&watch=true" : ""}`,
        opts: {},
        what: `bad selector ${which}`,
      };
    }
    case 6: {
      const variants: [string, string][] = [
        [
          "application/json-patch+json",
          JSON.stringify([
            { op: pick(["explode", "", "replace"]), path: pick(["/spec/nope/deeper", "", "spec"]) },
          ]),
        ],
        ["application/json-patch+json", JSON.stringify({ op: "add" })],
        [
          "application/json-patch+json",
          JSON.stringify([{ op: "test", path: "/spec/replicas", value: 99 }]),
        ],
        [
          "application/json-patch+json",
          JSON.stringify([{ op: "replace", path: "/spec/replicas", value: "many" }]),
        ],
        ["application/merge-patch+json", JSON.stringify([1, 2, 3])],
        ["application/merge-patch+json", JSON.stringify({ spec: { replicas: "many" } })],
        ["application/merge-patch+json", JSON.stringify({ metadata: { name: "renamed" } })],
        ["application/strategic-merge-patch+json", JSON.stringify({ spec: "flat" })],
        [
          "application/strategic-merge-patch+json",
          JSON.stringify({ spec: { template: { spec: { containers: "c" } } } }),
        ],
        ["application/strategic-merge-patch+json", randomString(30)],
        [
          "application/apply-patch+yaml",
          "kind: Deployment\napiVersion: apps/v1\nmetadata: {name: target}\nspec: {replicas: [}",
        ],
        [
          "application/apply-patch+yaml",
          JSON.stringify({ kind: "Secret", apiVersion: "v1", metadata: { name: "target" } }),
        ],
        ["application/x-unknown", "{}"],
      ];
      const [type, body] = pick(variants);
      if (random() < 0.1) {
        const scale = JSON.stringify({ spec: { replicas: pick(["many", -1, 1.5, null]) } });
        return {
          method: "PATCH",
          path: "/apis/apps/v1/namespaces/default/deployments/target/scale",
          opts: { rawBody: scale, contentType: "application/merge-patch+json" },
          what: `bad scale ${scale}`,
        };
      }
      const path = pick([
        "/apis/apps/v1/namespaces/default/deployments/target",
        "/apis/apps/v1/namespaces/default/deployments/missing-one",
      ]);
      const query =
        type === "application/apply-patch+yaml" && random() < 0.5 ? "" : "?fieldManager=fuzz";
      return {
        method: "PATCH",
        path: path + query,
        opts: { rawBody: body, contentType: type },
        what: `bad patch ${type} ${body.slice(0, 40)}`,
      };
    }
    case 7: {
      const rv = encodeURIComponent(pick(BAD_RVS));
      const target = pick([
        `/api/v1/namespaces/default/configmaps?resourceVersion=${rv}&watch=true`,
        `/api/v1/namespaces/default/configmaps?resourceVersion=${rv}&limit=1`,
        `/api/v1/namespaces/default/configmaps?continue=${rv}`,
        `/api/v1/namespaces/default/configmaps?limit=${rv}`,
        `/api/v1/namespaces/default/configmaps?timeoutSeconds=${rv}&watch=true`,
      ]);
      return { method: "GET", path: target, opts: {}, what: `bad resourceVersion ${rv}` };
    }
    case 8: {
      // An update carrying a resourceVersion that is not the stored one.
      const body = {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "target", resourceVersion: pick(BAD_RVS.concat(["1", "2"])) },
        data: { x: "y" },
      };
      return {
        method: "PUT",
        path: "/api/v1/namespaces/default/configmaps/target",
        opts: { rawBody: JSON.stringify(body) },
        what: "stale or bad resourceVersion on update",
      };
    }
    default: {
      const paths = [
        ["GET", "/api/v1/namespaces/default/nothings"],
        ["GET", "/apis/nope.example/v1/things"],
        ["POST", "/api/v1/namespaces/default/configmaps/target"],
        ["PUT", "/api/v1/namespaces/default/configmaps"],
        ["GET", "/api/v1/namespaces/default/configmaps/target/status/extra"],
        ["DELETE", "/api/v1/namespaces/default/configmaps/not-there-" + i],
        ["POST", "/api/v1/namespaces/default/pods/x/binding"],
        ["GET", "/api/v2"],
        ["GET", "/api/v1/nodes/n1/scale"],
        ["DELETE", "/api/v1/namespaces/default/configmaps/target?propagationPolicy=Sideways"],
        ["POST", "/api/v1/namespaces/default/configmaps?fieldValidation=Lax"],
        ["POST", "/api/v1/namespaces/default/configmaps?dryRun=Some"],
      ];
      const [method, path] = pick(paths);
      return {
        method: method!,
        path: path!,
        opts:
          method === "POST"
            ? {
                rawBody: JSON.stringify({
                  apiVersion: "v1",
                  kind: "ConfigMap",
                  metadata: { name: `p${i}` },
                }),
              }
            : {},
        what: `bad path ${method} ${path}`,
      };
    }
  }
}

test("10,000 hostile requests each get a 4xx Status, and the server stays up", async () => {
  const total = 10_000;
  const failures: string[] = [];
  const codes = new Map<number, number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      const h = hostile(i);
      const res = await Promise.race([
        api.request(h.method, h.path, undefined, h.opts),
        new Promise<never>((_, reject) =>
          setTimeout(
            () =>
              reject(
                new Error(
                  `no answer within 10 s to #${i} ${h.what}: ${h.method} ${h.path.slice(0, 200)}`,
                ),
              ),
            10_000,
          ).unref(),
        ),
      ]);
      codes.set(res.status, (codes.get(res.status) ?? 0) + 1);
      const isStatus =
        res.json?.kind === "Status" ||
        (res.json?.type === "ERROR" && res.json?.object?.kind === "Status");
      const code = res.json?.type === "ERROR" ? res.json.object.code : res.status;
      if (!(code >= 400 && code < 500) || !isStatus) {
        failures.push(
          `#${i} ${h.what}: ${h.method} ${h.path.slice(0, 120)} -> ${res.status} ${res.text.slice(0, 200)}`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  const kinds = new Map<string, number>();
  for (const f of failures) {
    const k = f.replace(/^#\d+ /, "").slice(0, 40);
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  assert.deepEqual([...kinds], [], "kinds of failure");
  assert.deepEqual(
    failures.slice(0, 20),
    [],
    `seed ${SEED}: ${failures.length} requests were not answered with a 4xx Status`,
  );
  const health = await api.request("GET", "/healthz");
  assert.equal(health.text, "ok");
  const fiveHundreds = [...codes].filter(([c]) => c >= 500);
  assert.deepEqual(fiveHundreds, []);
});
