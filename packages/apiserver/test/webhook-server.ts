// A real admission webhook for tests: an HTTPS server (node:https) on a loopback port,
// with its own test CA (made by openssl), that records every AdmissionReview it gets and
// answers by path:
//   /allow            allowed
//   /deny             refused when the object (or old object) has the label deny=true
//   /mutate           adds the label mutated=by-webhook (a JSONPatch)
//   /mutate-again     adds the label second=<value of mutated, or none> (reinvocation)
//   /warn             allowed, with a warning
//   /deny-all         refused, naming the operation and subresource
//   /slow             answers after 3 s
import { createServer, type Server } from "node:https";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface WebhookServer {
  url: string;
  port: number;
  /** The test CA's certificate, base64, as a caBundle. */
  caBundle: string;
  /** Reviews received, by path. */
  reviews: { path: string; request: Obj }[];
  stop(): Promise<void>;
}

/** A CA and a server certificate for 127.0.0.1 and `serviceName`, signed by the CA. */
function makeCerts(serviceName: string): { dir: string; ca: string } {
  const dir = mkdtempSync(join(tmpdir(), "skiff-webhook-certs-"));
  const run = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  run([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-sha256",
    "-days",
    "1",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-subj",
    "/CN=webhook-test-ca",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
  ]);
  run([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=webhook",
  ]);
  writeFileSync(
    join(dir, "ext.cnf"),
    `subjectAltName=IP:127.0.0.1,DNS:${serviceName}\nextendedKeyUsage=serverAuth\n`,
  );
  run([
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "1",
    "-sha256",
    "-extfile",
    "ext.cnf",
    "-out",
    "server.crt",
  ]);
  return { dir, ca: readFileSync(join(dir, "ca.crt"), "utf8") };
}

const labelsOf = (o: Obj | null | undefined): Obj => o?.metadata?.labels ?? {};

function answer(path: string, request: Obj): Obj {
  const response: Obj = { uid: request.uid, allowed: true };
  const labels = labelsOf(request.object);
  const patch = (ops: Obj[]) => {
    response.patchType = "JSONPatch";
    response.patch = Buffer.from(JSON.stringify(ops)).toString("base64");
  };
  const addLabel = (key: string, value: string) =>
    request.object?.metadata?.labels
      ? patch([{ op: "add", path: `/metadata/labels/${key}`, value }])
      : patch([{ op: "add", path: "/metadata/labels", value: { [key]: value } }]);
  switch (path) {
    case "/deny":
      if (labels.deny === "true" || labelsOf(request.oldObject).deny === "true") {
        response.allowed = false;
        response.status = { code: 403, message: `the label deny is set on ${request.operation}` };
      }
      break;
    case "/mutate":
      addLabel("mutated", "by-webhook");
      break;
    case "/mutate-again":
      addLabel("second", labels.mutated ?? "none");
      break;
    case "/deny-all":
      response.allowed = false;
      response.status = {
        code: 403,
        message: `no ${request.operation} of ${request.resource.resource}/${request.subResource ?? ""}`,
      };
      break;
    case "/warn":
      response.warnings = ["the warn webhook says hello"];
      break;
  }
  return response;
}

export async function startWebhookServer(
  serviceName = "wh.webhook-test.svc",
): Promise<WebhookServer> {
  const { dir, ca } = makeCerts(serviceName);
  const reviews: WebhookServer["reviews"] = [];
  const server: Server = createServer(
    { cert: readFileSync(join(dir, "server.crt")), key: readFileSync(join(dir, "server.key")) },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const review = JSON.parse(Buffer.concat(chunks).toString()) as Obj;
        const path = (req.url ?? "").split("?")[0]!;
        reviews.push({ path, request: review.request });
        const send = () => {
          res.writeHead(200, { "Content-Type": "application/json" });
          res.end(
            JSON.stringify({
              apiVersion: "admission.k8s.io/v1",
              kind: "AdmissionReview",
              response: answer(path, review.request),
            }),
          );
        };
        if (path === "/slow") setTimeout(send, 3000).unref();
        else send();
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    caBundle: Buffer.from(ca).toString("base64"),
    reviews,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
