import { test } from "node:test";
import assert from "node:assert/strict";
import { resourceInfo } from "@skiff/api";
import type { KubeObject } from "@skiff/client";
import { RootCACertPublisher } from "../src/controllers/rootcacertpublisher/index.js";
import { create, startEnv, waitFor } from "./endpoints-testenv.js";

const cmInfo = resourceInfo("", "v1", "configmaps");
const nsInfo = resourceInfo("", "v1", "namespaces");
const CA = "-----BEGIN CERTIFICATE-----\nMIIBtest\n-----END CERTIFICATE-----\n";

type ConfigMap = KubeObject & { data?: Record<string, string> };

test("every namespace gets kube-root-ca.crt with ca.crt; deleted or changed, it comes back", async (t) => {
  const env = await startEnv();
  t.after(() => env.stop());
  env.run(new RootCACertPublisher(env.ctx, CA));
  const cms = env.client.resource<ConfigMap>(cmInfo);
  const get = (ns: string) =>
    cms
      .namespace(ns)
      .get("kube-root-ca.crt")
      .catch(() => undefined);
  for (const ns of ["default", "kube-system", "kube-public", "kube-node-lease"])
    assert.equal((await waitFor(`kube-root-ca.crt in ${ns}`, () => get(ns))).data?.["ca.crt"], CA);
  await create(env, nsInfo, {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "team-b" },
  } as KubeObject);
  const cm = await waitFor("kube-root-ca.crt in team-b", () => get("team-b"));
  assert.deepEqual(cm.data, { "ca.crt": CA });
  assert.match(cm.metadata.annotations?.["kubernetes.io/description"] ?? "", /CA bundle/);

  await cms.namespace("team-b").delete("kube-root-ca.crt");
  await waitFor("recreated", async () => {
    const again = await get("team-b");
    return again !== undefined && again.metadata.uid !== cm.metadata.uid;
  });

  const cur = (await get("team-b"))!;
  await cms.namespace("team-b").update({ ...cur, data: { "ca.crt": "tampered", extra: "x" } });
  const fixed = await waitFor("restored", async () => {
    const again = await get("team-b");
    return again?.data?.["ca.crt"] === CA ? again : undefined;
  });
  assert.deepEqual(fixed.data, { "ca.crt": CA });
});
