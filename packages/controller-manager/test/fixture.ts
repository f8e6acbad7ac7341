// The fixture for tests that call a controller's sync directly, as sample-controller's
// tests do with a fake clientset: informers preloaded with objects (never started), and
// a client that records each API call instead of sending it. A create or update answers
// with the body sent (a uid and resourceVersion added); `failWith` makes chosen calls fail.
// Nothing here stands in for a running component: the point is the decision sync makes.
import { resourceInfo } from "@skiff/api";
import {
  ApiError,
  EventRecorder,
  RestClient,
  SharedInformerFactory,
  silentLogger,
  type KubeObject,
  type RequestOptions,
} from "@skiff/client";
import type { ControllerContext } from "../src/controller.js";

export interface Call {
  method: string;
  path: string;
  body?: KubeObject;
}

class RecordingClient extends RestClient {
  readonly calls: Call[] = [];
  private uid = 0;
  failWith?: (call: Call) => ApiError | undefined;

  constructor() {
    super({ server: "http://127.0.0.1:9", namespace: "default" }); // never contacted
  }

  override request(method: string, path: string, opts: RequestOptions = {}): Promise<unknown> {
    const body = opts.body as KubeObject | undefined;
    const call: Call = { method, path, ...(body && "metadata" in body ? { body } : {}) };
    // Events are the recorder's, not the controller's decision.
    if (!path.includes("/events")) this.calls.push(call);
    const failure = this.failWith?.(call);
    if (failure) return Promise.reject(failure);
    if (method === "POST" || method === "PUT") {
      const obj = structuredClone(call.body ?? ({ metadata: {} } as KubeObject));
      obj.metadata.uid ??= `uid-${++this.uid}`;
      obj.metadata.resourceVersion = String(100 + this.calls.length);
      return Promise.resolve(obj);
    }
    return Promise.resolve({ kind: "Status", status: "Success" });
  }
}

export interface Fixture {
  ctx: ControllerContext;
  /** The calls made so far, events left out. */
  calls: Call[];
  /** Puts objects in the informer cache of `resource` ("pods", "apps/statefulsets"). */
  load(resource: string, objects: KubeObject[]): void;
  /** Calls of one verb on one resource, e.g. ("POST", "pods"). */
  made(method: string, resource: string): Call[];
  failWith(fn: (call: Call) => ApiError | undefined): void;
}

export function apiError(code: number, reason: string): ApiError {
  return new ApiError({ kind: "Status", apiVersion: "v1", code, reason, message: reason });
}

export function newFixture(): Fixture {
  const client = new RecordingClient();
  const informers = new SharedInformerFactory(client);
  const ctx: ControllerContext = {
    client,
    informers,
    recorder: (component) => new EventRecorder(client, { component, logger: silentLogger }),
    log: silentLogger,
    metrics: { queue: () => ({}), sync: () => {} },
  };
  return {
    ctx,
    calls: client.calls,
    load(resource, objects) {
      const [group, plural] = resource.includes("/") ? resource.split("/") : ["", resource];
      informers.forResource(resourceInfo(group!, "v1", plural!)).replace(objects, "1");
    },
    made(method, resource) {
      return client.calls.filter(
        (c) =>
          c.method === method &&
          new RegExp(`/${resource}(/|$)`).test(c.path.replace(/\/(status|scale)$/, "")),
      );
    },
    failWith(fn) {
      client.failWith = fn;
    },
  };
}
