// A request as the admin whose reply is kept as bytes (protobuf replies are not text).
import { request } from "node:https";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { TestApiserver } from "@skiff/testing";

export interface RawReply {
  status: number;
  type: string;
  body: Buffer;
}

export function rawRequest(
  api: TestApiserver,
  method: string,
  path: string,
  opts: { accept?: string; contentType?: string; body?: Buffer; maxBytes?: number } = {},
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (opts.accept) headers.Accept = opts.accept;
    if (opts.body) {
      headers["Content-Type"] = opts.contentType ?? "application/json";
      headers["Content-Length"] = String(opts.body.length);
    }
    const req = request(
      `${api.url}${path}`,
      {
        method,
        headers,
        ca: readFileSync(join(api.certDir, "ca.crt")),
        cert: readFileSync(join(api.certDir, "admin.crt")),
        key: readFileSync(join(api.certDir, "admin.key")),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers["content-type"]),
            body: Buffer.concat(chunks),
          });
        res.on("data", (c: Buffer) => {
          chunks.push(c);
          size += c.length;
          // A watch never ends by itself: stop once enough has arrived.
          if (opts.maxBytes !== undefined && size >= opts.maxBytes) {
            res.destroy();
            done();
          }
        });
        res.on("end", done);
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}
