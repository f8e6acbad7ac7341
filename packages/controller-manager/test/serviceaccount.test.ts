import { test } from "node:test";
import assert from "node:assert/strict";
import { resourceInfo } from "@skiff/api";
import type { KubeObject } from "@skiff/client";
import { ServiceAccountController } from "../src/controllers/serviceaccount/index.js";
import { create, startEnv, waitFor } from "./endpoints-testenv.js";

const saInfo = resourceInfo("", "v1", "serviceaccounts");
const nsInfo = resourceInfo("", "v1", "namespaces");

test("every namespace gets a default service account, recreated when deleted", async (t) => {
  const env = await startEnv();
  t.after(() => env.stop());
  env.run(new ServiceAccountController(env.ctx));
  const sas = env.client.resource(saInfo);
  await waitFor("default SA in default", () =>
    sas
      .namespace("default")
      .get("default")
      .catch(() => undefined),
  );
  await create(env, nsInfo, {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "team-a" },
  } as KubeObject);
  const sa = await waitFor("default SA in team-a", () =>
    sas
      .namespace("team-a")
      .get("default")
      .catch(() => undefined),
  );
  assert.equal(sa.metadata.namespace, "team-a");
  await sas.namespace("team-a").delete("default");
  await waitFor("recreated", async () => {
    const again = await sas
      .namespace("team-a")
      .get("default")
      .catch(() => undefined);
    return again !== undefined && again.metadata.uid !== sa.metadata.uid;
  });
});
