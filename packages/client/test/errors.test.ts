import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ApiError,
  apiErrorFromResponse,
  reasons,
  isNotFound,
  isConflict,
  isAlreadyExists,
  isGone,
} from "@skiff/client";

test("every reason the client knows is documented with its HTTP code", () => {
  for (const [reason, r] of Object.entries(reasons)) {
    assert.ok(r.code >= 400 && r.code < 600, reason);
    assert.ok(r.when.length > 10, `reason ${reason} says when it is thrown`);
  }
});

test("a Status body becomes an ApiError with its code, reason, message and causes", () => {
  const body = JSON.stringify({
    kind: "Status",
    apiVersion: "v1",
    status: "Failure",
    message: 'ConfigMap "x" is invalid: data: Invalid value',
    reason: "Invalid",
    details: {
      name: "x",
      kind: "configmaps",
      causes: [{ field: "data", message: "Invalid value" }],
    },
    code: 422,
  });
  const e = apiErrorFromResponse(422, body);
  assert.ok(e instanceof ApiError);
  assert.equal(e.code, 422);
  assert.equal(e.reason, "Invalid");
  assert.equal(e.message, 'ConfigMap "x" is invalid: data: Invalid value');
  assert.deepEqual(e.causes, [{ field: "data", message: "Invalid value" }]);
  assert.equal(e.retryable, false);
});

test("the helpers recognise NotFound, Conflict, AlreadyExists and Gone", () => {
  const s = (code: number, reason: string) =>
    apiErrorFromResponse(code, JSON.stringify({ kind: "Status", apiVersion: "v1", code, reason }));
  assert.ok(isNotFound(s(404, "NotFound")));
  assert.ok(isConflict(s(409, "Conflict")));
  assert.ok(isAlreadyExists(s(409, "AlreadyExists")));
  assert.ok(!isConflict(s(409, "AlreadyExists")));
  assert.ok(isGone(s(410, "Expired")));
  assert.ok(isGone(s(410, "Gone")));
  assert.ok(!isNotFound(new Error("not found")));
});

test("a non-JSON error body becomes a clear ApiError with the reason for its code", () => {
  const e = apiErrorFromResponse(503, "<html>upstream down</html>", "GET", "/api/v1/pods");
  assert.equal(e.reason, "ServiceUnavailable");
  assert.equal(e.code, 503);
  assert.equal(e.retryable, true);
  assert.equal(e.message, "the server answered 503 (GET /api/v1/pods): <html>upstream down</html>");
  assert.equal(apiErrorFromResponse(404, "").reason, "NotFound");
  assert.equal(apiErrorFromResponse(409, "").reason, "Conflict");
  assert.equal(apiErrorFromResponse(418, "teapot").reason, "BadRequest");
  assert.equal(apiErrorFromResponse(429, "").retryable, true);
});
