#!/usr/bin/env node
// The skiff-scheduler program; its code is built into dist/ by `make build`.
import "../dist/main.js";
