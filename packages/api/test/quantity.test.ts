import { test } from "node:test";
import assert from "node:assert/strict";
import {
  formatQuantity,
  isValidQuantity,
  parseQuantity,
  QUANTITY_FORMAT_ERROR,
} from "../src/quantity.js";

test("CPU quantities read as cores: 500m is half a core", () => {
  assert.equal(parseQuantity("500m"), 0.5);
  assert.equal(parseQuantity("300m"), 0.3);
  assert.equal(parseQuantity("2"), 2);
  assert.equal(parseQuantity("1.5"), 1.5);
  assert.equal(parseQuantity(".5"), 0.5);
  assert.equal(parseQuantity("250000u"), 0.25);
  assert.equal(parseQuantity("100n"), 1e-7);
  assert.equal(parseQuantity(3), 3);
});

test("memory quantities read as bytes with binary and decimal suffixes", () => {
  assert.equal(parseQuantity("128Mi"), 134217728);
  assert.equal(parseQuantity("1Ki"), 1024);
  assert.equal(parseQuantity("2Gi"), 2 * 2 ** 30);
  assert.equal(parseQuantity("1Ti"), 2 ** 40);
  assert.equal(parseQuantity("1Pi"), 2 ** 50);
  assert.equal(parseQuantity("1Ei"), 2 ** 60);
  assert.equal(parseQuantity("1k"), 1000);
  assert.equal(parseQuantity("1M"), 1e6);
  assert.equal(parseQuantity("1G"), 1e9);
  assert.equal(parseQuantity("1T"), 1e12);
  assert.equal(parseQuantity("1P"), 1e15);
  assert.equal(parseQuantity("1E"), 1e18);
});

test("decimal exponents and signs are understood", () => {
  assert.equal(parseQuantity("1e3"), 1000);
  assert.equal(parseQuantity("1E3"), 1000);
  assert.equal(parseQuantity("12e-3"), 0.012);
  assert.equal(parseQuantity("+1e+2"), 100);
  assert.equal(parseQuantity("-1"), -1);
  assert.equal(parseQuantity("-500m"), -0.5);
});

test("text that is not a quantity is refused with Kubernetes' message", () => {
  for (const bad of ["", "abc", "1.2.3", ".", "1 Gi", "Gi", "1Gb", "0x10", "--1"]) {
    assert.throws(() => parseQuantity(bad), { message: QUANTITY_FORMAT_ERROR }, bad);
    assert.equal(isValidQuantity(bad), false, bad);
  }
  assert.throws(() => parseQuantity("1mm"), /unable to parse quantity's suffix/);
  assert.throws(() => parseQuantity("1e"), /unable to parse quantity's suffix/);
  assert.equal(isValidQuantity("100Mi"), true);
  assert.equal(isValidQuantity(1), true);
  assert.equal(isValidQuantity(null), false);
  assert.equal(isValidQuantity(Number.NaN), false);
});

test("CPU prints as whole cores or millicores", () => {
  assert.equal(formatQuantity(0.25, "cpu"), "250m");
  assert.equal(formatQuantity(2, "cpu"), "2");
  assert.equal(formatQuantity(0.1 + 0.2, "cpu"), "300m");
  assert.equal(formatQuantity(1.5, "cpu"), "1500m");
  assert.equal(formatQuantity(0, "cpu"), "0");
  assert.equal(formatQuantity(0.0005, "cpu"), "500u");
});

test("memory prints with the largest exact binary suffix", () => {
  assert.equal(formatQuantity(134217728, "memory"), "128Mi");
  assert.equal(formatQuantity(1024, "memory"), "1Ki");
  assert.equal(formatQuantity(2 ** 30, "memory"), "1Gi");
  assert.equal(formatQuantity(1536 * 2 ** 20, "memory"), "1536Mi");
  assert.equal(formatQuantity(1500, "memory"), "1500");
  assert.equal(formatQuantity(1000, "memory"), "1k");
  assert.equal(formatQuantity(512, "memory"), "512");
  assert.equal(formatQuantity(parseQuantity("64Mi"), "memory"), "64Mi");
});
