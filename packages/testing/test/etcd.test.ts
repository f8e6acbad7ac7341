// The etcd harness starts real etcd servers that a real etcd client can use.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { Etcd3, type IKeyValue, type Watcher } from "etcd3";
import {
  freePort,
  startEtcd,
  startEtcdCluster,
  type EtcdCluster,
  type EtcdMember,
} from "../src/etcd.js";

const timeout = 60_000;

/** The value of the next put the watcher sees. */
function nextPut(watcher: Watcher): Promise<string> {
  return new Promise((resolve) =>
    watcher.once("put", (kv: IKeyValue) => resolve(kv.value.toString())),
  );
}

async function answersHealth(endpoint: string): Promise<boolean> {
  try {
    await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1_000) });
    return true;
  } catch {
    return false;
  }
}

test("freePort hands out a different loopback port each time", async () => {
  const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  assert.equal(new Set(ports).size, ports.length);
  for (const port of ports) assert.ok(port > 0 && port < 65536);
});

describe("a single etcd member", { timeout }, () => {
  test("stores a key and returns it", async (t) => {
    const etcd = await startEtcd();
    t.after(() => etcd.stop());
    assert.equal(etcd.endpoints.length, 1);
    assert.match(etcd.endpoints[0]!, /^http:\/\/127\.0\.0\.1:\d+$/);
    const client = new Etcd3({ hosts: etcd.endpoints });
    t.after(() => client.close());

    await client.put("/registry/pods/default/web").value('{"kind":"Pod"}');
    assert.equal(await client.get("/registry/pods/default/web").string(), '{"kind":"Pod"}');
  });

  test("a watch sees a put made after it started", async (t) => {
    const etcd = await startEtcd();
    t.after(() => etcd.stop());
    const client = new Etcd3({ hosts: etcd.endpoints });
    t.after(() => client.close());

    const watcher = await client.watch().prefix("/registry/pods/").create();
    t.after(() => watcher.cancel());
    const seen = nextPut(watcher);
    await client.put("/registry/pods/default/web").value("v1");
    assert.equal(await seen, "v1");
  });

  test("stop() leaves nothing answering on its port", async () => {
    const etcd = await startEtcd();
    const [endpoint] = etcd.endpoints;
    assert.ok(endpoint);
    assert.equal(await answersHealth(endpoint), true);
    await etcd.stop();
    assert.equal(await answersHealth(endpoint), false);
  });
});

/** The member whose etcd member ID is `id`, asked of each member itself. */
async function memberWithId(cluster: EtcdCluster, id: string): Promise<EtcdMember> {
  for (const member of cluster.members) {
    const client = new Etcd3({ hosts: member.clientURL });
    try {
      if ((await client.maintenance.status()).header.member_id === id) return member;
    } finally {
      client.close();
    }
  }
  throw new Error(`no member has ID ${id}`);
}

describe("a three-member etcd cluster", { timeout }, () => {
  let cluster: EtcdCluster;
  before(async () => {
    cluster = await startEtcdCluster(3);
  });
  after(() => cluster?.stop());

  test("has three members on distinct loopback endpoints", () => {
    assert.equal(cluster.members.length, 3);
    assert.equal(new Set(cluster.endpoints).size, 3);
    assert.deepEqual(
      cluster.members.map((m) => m.running),
      [true, true, true],
    );
  });

  test("keeps serving puts, gets and watches with its leader stopped", async (t) => {
    const client = new Etcd3({ hosts: cluster.endpoints });
    t.after(() => client.close());
    await client.put("before").value("1");

    // Stopping the leader is the hard case: the other two must elect a new one.
    const status = await client.maintenance.status();
    const stopped = await memberWithId(cluster, status.leader);
    await stopped.stop();
    t.after(() => stopped.start());
    assert.equal(stopped.running, false);
    assert.equal(await answersHealth(stopped.clientURL), false);

    const watcher = await client.watch().key("during").create();
    t.after(() => watcher.cancel());
    const seen = nextPut(watcher);
    await client.put("during").value("2");
    assert.equal(await seen, "2");
    assert.equal(await client.get("before").string(), "1");
    assert.equal(await client.get("during").string(), "2");
  });

  test("a restarted member catches up on the writes it missed", async (t) => {
    const member = cluster.members[1]!;
    const others = cluster.members.filter((m) => m !== member).map((m) => m.clientURL);
    await member.stop();
    const client = new Etcd3({ hosts: others });
    t.after(() => client.close());
    await client.put("missed").value("while-down");

    await member.start();
    assert.equal(member.running, true);
    // A serializable read is answered from the member's own copy of the data.
    const local = new Etcd3({ hosts: member.clientURL });
    t.after(() => local.close());
    let value: string | null = null;
    for (let i = 0; i < 100 && value === null; i++) {
      value = await local.get("missed").serializable(true).string();
      if (value === null) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(value, "while-down");
  });
});
