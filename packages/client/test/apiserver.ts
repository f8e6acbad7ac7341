// The integration tests' setup: one real apiserver (on a real etcd) per test file, and a
// RestClient for it from the kubeconfig it writes; both stopped after the file's tests.
import { after, before } from "node:test";
import { startApiserver, type TestApiserver } from "@skiff/testing";
import { RestClient, loadKubeconfig } from "@skiff/client";

export interface ApiserverEnv {
  api: TestApiserver;
  client: RestClient;
}

/** Registers the file's before/after hooks; the fields are set once `before` has run. */
export function useApiserver(): ApiserverEnv {
  const env = {} as ApiserverEnv;
  before(async () => {
    env.api = await startApiserver();
    env.client = new RestClient(loadKubeconfig({ kubeconfig: env.api.kubeconfig, env: {} }));
  });
  after(async () => {
    env.client?.close();
    await env.api?.stop();
  });
  return env;
}
