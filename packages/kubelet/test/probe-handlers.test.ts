// Probe handlers against real servers. gRPC probes against a real gRPC server (@grpc/grpc-js serving grpc.health.v1.Health from its
// .proto through @grpc/proto-loader, as a gRPC application in a pod would): SERVING passes,
// any other answer, a service the server does not know, nothing listening and a server that
// never answers fail with Kubernetes' kind of message; a probe's `grpc` handler dials the pod IP.
// HTTPS probes: TLS to a server whose certificate the kubelet does not verify (Node's https
// server with the test CA's apiserver certificate).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { freePort, testCerts } from "@skiff/testing";
import { grpcHealthCheck, runHandler } from "../src/probes.js";
import { SimulatedRuntime } from "../src/runtime/simulated.js";

// The health checking protocol's service, as grpc/grpc publishes it (grpc/health/v1/health.proto).
const HEALTH_PROTO = `syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse {
  enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
  ServingStatus status = 1;
}
service Health { rpc Check(HealthCheckRequest) returns (HealthCheckResponse); }
`;

const statuses: Record<string, string> = { "": "SERVING", db: "NOT_SERVING" };
let server: grpc.Server;
let port: number;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "skiff-grpc-probe-"));
  writeFileSync(join(dir, "health.proto"), HEALTH_PROTO);
  const pkg = grpc.loadPackageDefinition(
    protoLoader.loadSync(join(dir, "health.proto"), { enums: String, defaults: true }),
  ) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
  server = new grpc.Server();
  server.addService(pkg.grpc.health.v1.Health.service, {
    Check: (
      call: grpc.ServerUnaryCall<{ service: string }, unknown>,
      done: grpc.sendUnaryData<{ status: string }>,
    ) => {
      const status = statuses[call.request.service];
      if (call.request.service === "slow") return; // never answers
      if (!status) done({ code: grpc.status.NOT_FOUND, details: "unknown service" });
      else done(null, { status });
    },
  });
  port = await freePort();
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    ),
  );
});
after(() => {
  server?.forceShutdown();
  rmSync(dir, { recursive: true, force: true });
});

test("a SERVING answer passes; NOT_SERVING fails naming the status", async () => {
  assert.equal(await grpcHealthCheck(`127.0.0.1:${port}`, "", 2000), undefined);
  assert.equal(
    await grpcHealthCheck(`127.0.0.1:${port}`, "db", 2000),
    'service unhealthy (responded with "NOT_SERVING")',
  );
});

test("an unknown service, a closed port and a server that never answers fail", async () => {
  assert.match(
    (await grpcHealthCheck(`127.0.0.1:${port}`, "other", 2000)) ?? "",
    /^failed to connect service "127\.0\.0\.1:\d+": unknown service$/,
  );
  const closed = await freePort();
  assert.match(
    (await grpcHealthCheck(`127.0.0.1:${closed}`, "", 2000)) ?? "",
    new RegExp(`^failed to connect service "127\\.0\\.0\\.1:${closed}": `),
  );
  const started = Date.now();
  assert.match(
    (await grpcHealthCheck(`127.0.0.1:${port}`, "slow", 500)) ?? "",
    /Deadline exceeded/,
  );
  assert.ok(Date.now() - started < 5000, "the deadline ends the call");
});

test("a container's grpc probe reaches the server at the pod's IP and port", async () => {
  // The probe as a pod spec gives it; the runtime is not involved in a gRPC check.
  const target = {
    runtime: new SimulatedRuntime(),
    containerId: "c1",
    container: { name: "app", image: "app" },
    podIP: "127.0.0.1",
  };
  assert.equal(await runHandler({ grpc: { port } }, target, 2000), undefined);
  assert.equal(
    await runHandler({ grpc: { port, service: "db" } }, target, 2000),
    'service unhealthy (responded with "NOT_SERVING")',
  );
});

test("an HTTPS httpGet probe speaks TLS without verifying the certificate; its status code decides", async () => {
  const certs = testCerts();
  const tls = https.createServer(
    {
      cert: readFileSync(join(certs, "apiserver.crt")),
      key: readFileSync(join(certs, "apiserver.key")),
    },
    (req, res) => {
      res.statusCode = req.url === "/healthz" ? 200 : 500;
      res.end();
    },
  );
  const tlsPort = await freePort();
  await new Promise<void>((r) => tls.listen(tlsPort, "127.0.0.1", r));
  try {
    const target = {
      runtime: new SimulatedRuntime(),
      containerId: "c1",
      container: { name: "app", image: "app", ports: [{ name: "https", containerPort: tlsPort }] },
      podIP: "127.0.0.1",
    };
    const get = (path: string, scheme?: string) =>
      runHandler({ httpGet: { port: "https", path, scheme } }, target, 2000);
    assert.equal(await get("/healthz", "HTTPS"), undefined);
    assert.equal(await get("/broken", "HTTPS"), "HTTP probe failed with statuscode: 500");
    // Plain HTTP to a TLS port is no answer at all.
    assert.notEqual(await get("/healthz", "HTTP"), undefined);
  } finally {
    tls.close();
  }
});
