import { test } from "node:test";
import assert from "node:assert/strict";
import {
  fieldSelectorToString,
  labelSelectorToRequirements,
  labelSelectorToString,
  matchesFields,
  matchesLabels,
  nodeSelectorRequirementMatches,
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
} from "../src/selectors.js";

const web = { app: "web", tier: "frontend", env: "prod" };

test("equality selectors parse into sorted requirements", () => {
  assert.deepEqual(parseLabelSelector("tier!=db, app = web,env==prod"), [
    { key: "app", operator: "Equals", values: ["web"] },
    { key: "env", operator: "Equals", values: ["prod"] },
    { key: "tier", operator: "NotEquals", values: ["db"] },
  ]);
});

test("set-based selectors parse: in, notin, exists, does not exist", () => {
  assert.deepEqual(parseLabelSelector("env in (qa, prod),tier notin (db),gpu,!canary"), [
    { key: "canary", operator: "DoesNotExist", values: [] },
    { key: "env", operator: "In", values: ["prod", "qa"] },
    { key: "gpu", operator: "Exists", values: [] },
    { key: "tier", operator: "NotIn", values: ["db"] },
  ]);
  assert.deepEqual(parseLabelSelector("example.com/team=a"), [
    { key: "example.com/team", operator: "Equals", values: ["a"] },
  ]);
  assert.deepEqual(parseLabelSelector("a="), [{ key: "a", operator: "Equals", values: [""] }]);
  assert.deepEqual(parseLabelSelector("replicas>2"), [
    { key: "replicas", operator: "Gt", values: ["2"] },
  ]);
});

test("an empty label selector selects everything", () => {
  assert.deepEqual(parseLabelSelector(""), []);
  assert.deepEqual(parseLabelSelector("  "), []);
  assert.equal(matchesLabels([], undefined), true);
  assert.equal(matchesLabels([], web), true);
});

test("a bad label selector is refused with an error naming the bad part", () => {
  const cases: [string, RegExp][] = [
    ["app=web,", /found 'end of string', expected: !, identifier/],
    ["app=web tier=db", /found 'tier', expected: ',' or 'end of string'/],
    ["env in prod", /found 'prod', expected: '\('/],
    ["env in ()", /values set can't be empty/],
    ["env in (a", /expected: '\)'/],
    ["app=-web", /invalid label value "-web"/],
    ["Bad_Prefix/app=web", /invalid label key "Bad_Prefix\/app"/],
    ["a/b/c=d", /invalid label key "a\/b\/c"/],
    [`${"k".repeat(64)}=v`, /no more than 63 characters/],
    [`app=${"v".repeat(64)}`, /no more than 63 characters/],
    ["=web", /found '=', expected: !, identifier/],
    ["!app=web", /expected: ',' or 'end of string'/],
    ["app(", /found '\(' after key "app"/],
    ["n>x", /must be a single integer/],
  ];
  for (const [input, message] of cases) {
    assert.throws(
      () => parseLabelSelector(input),
      (e: unknown) => {
        assert.ok(e instanceof SelectorError, input);
        assert.match(e.message, message, input);
        return true;
      },
    );
  }
});

test("labels match requirements as Kubernetes does", () => {
  const sel = (s: string) => parseLabelSelector(s);
  assert.equal(matchesLabels(sel("app=web,tier!=db"), web), true);
  assert.equal(matchesLabels(sel("app=web,tier=db"), web), false);
  assert.equal(matchesLabels(sel("missing!=x"), web), true, "!= matches an absent label");
  assert.equal(matchesLabels(sel("missing notin (x)"), web), true);
  assert.equal(matchesLabels(sel("missing=x"), web), false);
  assert.equal(matchesLabels(sel("env in (qa,prod)"), web), true);
  assert.equal(matchesLabels(sel("env notin (qa,prod)"), web), false);
  assert.equal(matchesLabels(sel("app"), web), true);
  assert.equal(matchesLabels(sel("!app"), web), false);
  assert.equal(matchesLabels(sel("!gpu"), undefined), true);
  assert.equal(matchesLabels(sel("app"), undefined), false);
  assert.equal(matchesLabels(sel("n>2"), { n: "3" }), true);
  assert.equal(matchesLabels(sel("n<2"), { n: "3" }), false);
  assert.equal(matchesLabels(sel("n>2"), { n: "three" }), false);
});

test("a LabelSelector object converts to requirements and prints as kubectl shows it", () => {
  const selector = {
    matchLabels: { app: "nginx" },
    matchExpressions: [
      { key: "tier", operator: "In", values: ["b", "a"] },
      { key: "canary", operator: "DoesNotExist" },
      { key: "env", operator: "NotIn", values: ["dev"] },
      { key: "gpu", operator: "Exists", values: [] },
    ],
  };
  assert.equal(
    labelSelectorToString(selector),
    "app=nginx,!canary,env notin (dev),gpu,tier in (a,b)",
  );
  assert.equal(labelSelectorToString({ matchLabels: { app: "nginx" } }), "app=nginx");
  assert.equal(labelSelectorToString({}), "");
  const reqs = labelSelectorToRequirements(selector);
  assert.equal(matchesLabels(reqs, { app: "nginx", tier: "a", gpu: "1" }), true);
  assert.equal(matchesLabels(reqs, { app: "nginx", tier: "c", gpu: "1" }), false);
  // The printed form parses back to the same requirements.
  assert.deepEqual(parseLabelSelector(labelSelectorToString(selector)), reqs);
});

test("a malformed LabelSelector object is refused", () => {
  assert.throws(
    () =>
      labelSelectorToRequirements({
        matchExpressions: [{ key: "a", operator: "Equals", values: ["x"] }],
      }),
    {
      name: "SelectorError",
      message: '"Equals" is not a valid label selector operator',
    },
  );
  assert.throws(
    () =>
      labelSelectorToRequirements({
        matchExpressions: [{ key: "a", operator: "In" }],
      }),
    /values set can't be empty/,
  );
  assert.throws(
    () =>
      labelSelectorToRequirements({
        matchExpressions: [{ key: "a", operator: "Exists", values: ["x"] }],
      }),
    /values set must be empty/,
  );
  assert.throws(
    () => labelSelectorToRequirements({ matchLabels: { app: "not valid" } }),
    SelectorError,
  );
});

test("node selector requirements compare integers with Gt and Lt", () => {
  const node = { "cpu-count": "8", zone: "a" };
  assert.equal(
    nodeSelectorRequirementMatches({ key: "cpu-count", operator: "Gt", values: ["4"] }, node),
    true,
  );
  assert.equal(
    nodeSelectorRequirementMatches({ key: "cpu-count", operator: "Lt", values: ["4"] }, node),
    false,
  );
  assert.equal(
    nodeSelectorRequirementMatches({ key: "zone", operator: "In", values: ["a", "b"] }, node),
    true,
  );
  assert.equal(
    nodeSelectorRequirementMatches({ key: "zone", operator: "Gt", values: ["x"] }, node),
    false,
  );
  assert.equal(nodeSelectorRequirementMatches({ key: "zone", operator: "Bogus" }, node), false);
});

test("the field selectors kubectl sends parse and match", () => {
  const describe = parseFieldSelector(
    "involvedObject.name=web-1,involvedObject.namespace=default,involvedObject.uid=3f2c1a9e-0b7d-4d6e-9a57-1c2b3d4e5f60",
  );
  assert.deepEqual(describe, [
    { field: "involvedObject.name", operator: "=", value: "web-1" },
    { field: "involvedObject.namespace", operator: "=", value: "default" },
    {
      field: "involvedObject.uid",
      operator: "=",
      value: "3f2c1a9e-0b7d-4d6e-9a57-1c2b3d4e5f60",
    },
  ]);
  const nodePods = parseFieldSelector("spec.nodeName=n1,status.phase!=Succeeded");
  assert.deepEqual(nodePods, [
    { field: "spec.nodeName", operator: "=", value: "n1" },
    { field: "status.phase", operator: "!=", value: "Succeeded" },
  ]);
  assert.equal(
    matchesFields(nodePods, {
      "spec.nodeName": "n1",
      "status.phase": "Running",
    }),
    true,
  );
  assert.equal(
    matchesFields(nodePods, {
      "spec.nodeName": "n1",
      "status.phase": "Succeeded",
    }),
    false,
  );
  assert.equal(
    matchesFields(nodePods, {
      "spec.nodeName": "n2",
      "status.phase": "Running",
    }),
    false,
  );
  assert.deepEqual(parseFieldSelector("metadata.name==nginx"), [
    { field: "metadata.name", operator: "=", value: "nginx" },
  ]);
  assert.deepEqual(parseFieldSelector(""), []);
});

test("an empty field value selects objects where the field is unset", () => {
  const unscheduled = parseFieldSelector("spec.nodeName=");
  assert.equal(matchesFields(unscheduled, { "spec.nodeName": "" }), true);
  assert.equal(matchesFields(unscheduled, {}), true);
  assert.equal(matchesFields(unscheduled, { "spec.nodeName": "n1" }), false);
});

test("escaped commas, equals signs and backslashes in field values", () => {
  const reqs = parseFieldSelector("metadata.name=a\\,b\\=c\\\\d,type!=x");
  assert.deepEqual(reqs, [
    { field: "metadata.name", operator: "=", value: "a,b=c\\d" },
    { field: "type", operator: "!=", value: "x" },
  ]);
  assert.equal(fieldSelectorToString(reqs), "metadata.name=a\\,b\\=c\\\\d,type!=x");
});

test("a bad field selector is refused with an error naming the bad part", () => {
  assert.throws(() => parseFieldSelector("metadata.name"), {
    name: "SelectorError",
    message: "invalid selector: 'metadata.name'; can't understand 'metadata.name'",
  });
  assert.throws(() => parseFieldSelector("a=b=c"), /unescaped character in value: =/);
  assert.throws(() => parseFieldSelector("a=b\\x"), /invalid escape sequence: \\x/);
  assert.throws(() => parseFieldSelector("a=b\\"), /invalid escape sequence/);
});

test("a LabelSelector with values of the wrong JSON type is refused, not crashed on", () => {
  const bad = JSON.parse('{"matchLabels":{"app":5}}') as Parameters<
    typeof labelSelectorToRequirements
  >[0];
  assert.throws(() => labelSelectorToRequirements(bad), SelectorError);
  const badValues = JSON.parse(
    '{"matchExpressions":[{"key":"a","operator":"In","values":"x"}]}',
  ) as Parameters<typeof labelSelectorToRequirements>[0];
  assert.throws(() => labelSelectorToRequirements(badValues), SelectorError);
});
