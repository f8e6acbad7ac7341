// A projected service account token is renewed live: the kubelet asks TokenRequest again once
// 80% of the token's life has passed and rewrites the file in the running pod, so the pod
// always holds a token that works while the old one expires. The apiserver's test-only
// minimum lifetime (Kubernetes': 10 minutes) is lowered to 20 s to see it within a test.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IMAGE, assignPodCIDR, startHarness, waitFor, type Harness } from "./harness.js";

const LIFETIME = 20;
let h: Harness;
const out = mkdtempSync(join(tmpdir(), "skiff-token-refresh-"));

before(async () => {
  h = await startHarness({ serviceAccountMinTokenExpirationSeconds: LIFETIME });
  await h.startKubelet({ resyncPeriodMs: 2_000 });
  await assignPodCIDR(h);
  const r = await h.api.request("POST", "/api/v1/namespaces/default/serviceaccounts", {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "short" },
  });
  assert.equal(r.status, 201, r.text);
});
after(async () => {
  await h?.cleanup();
  rmSync(out, { recursive: true, force: true });
});

/** Whether the apiserver accepts the token now (TokenReview as the admin). */
async function works(token: string): Promise<boolean> {
  const r = await h.api.request("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenReview",
    spec: { token },
  });
  assert.equal(r.status, 201, r.text);
  return (r.json as { status: { authenticated?: boolean } }).status.authenticated === true;
}

const expiry = (token: string) =>
  (JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()) as { exp: number }).exp *
  1000;

test("a short-lived projected token changes in the running pod before it expires; the new one works, the old one stops working", async () => {
  await h.createPod("refresh", {
    serviceAccountName: "short",
    automountServiceAccountToken: false,
    volumes: [
      { name: "out", hostPath: { path: out } },
      {
        name: "tok",
        projected: {
          sources: [{ serviceAccountToken: { path: "token", expirationSeconds: LIFETIME } }],
        },
      },
    ],
    containers: [
      {
        name: "c",
        image: IMAGE,
        // What the container sees, copied out every half second.
        command: [
          "sh",
          "-c",
          "while true; do cat /tok/token > /out/t.tmp && mv /out/t.tmp /out/token; sleep 0.5; done",
        ],
        volumeMounts: [
          { name: "out", mountPath: "/out" },
          { name: "tok", mountPath: "/tok", readOnly: true },
        ],
      },
    ],
  });
  await h.waitPod("refresh", (p: { status?: { phase?: string } }) => p.status?.phase === "Running");
  const read = () => {
    try {
      return readFileSync(join(out, "token"), "utf8");
    } catch {
      return "";
    }
  };
  const first = await waitFor(
    "the first token in the pod",
    async () => read() || undefined,
    30_000,
  );
  const firstSeen = Date.now();
  assert.ok(await works(first), "the first token works");
  const firstExpires = expiry(first);
  assert.ok(firstExpires - firstSeen <= LIFETIME * 1000, "the token lives as long as asked");
  const second = await waitFor(
    "the renewed token in the pod",
    async () => {
      const t = read();
      return t && t !== first ? t : undefined;
    },
    LIFETIME * 1000 + 10_000,
  );
  // Renewed before the first expired (at 80% of its life, plus a resync at most).
  assert.ok(Date.now() < firstExpires, "renewed before the old token expired");
  assert.ok(expiry(second) > firstExpires);
  assert.ok(await works(second), "the renewed token works");
  await new Promise((r) => setTimeout(r, Math.max(0, firstExpires - Date.now()) + 1_500));
  assert.equal(await works(first), false, "the old token no longer works once expired");
  assert.ok(await works(read()), "the token in the pod still works");
});
