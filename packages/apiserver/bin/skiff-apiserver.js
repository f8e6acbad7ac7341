#!/usr/bin/env node
// The skiff-apiserver program; its code is built into dist/ by `make build`.
import "../dist/main.js";
